import { type BackendDescriptor, withUrlParams } from '@sessions/core';
import { optionsFromUrl } from './url.js';

/** What the CLI and the test tooling need to know about this backend, without loading the driver. */
export const descriptor: BackendDescriptor = {
  name: 'postgres',
  packageName: '@sessions/postgres',
  storeExport: 'PostgresSessionStore',
  driver: 'postgres',
  schemes: ['postgres', 'postgresql'],
  optionsFromUrl,
  testServer: {
    env: 'POSTGRES_URL',
    service: 'postgres',
    storeUrl: (server, run) =>
      withUrlParams(server ?? 'postgres://127.0.0.1:5432/postgres', { tablePrefix: `${run}_` }),
  },
};
