import { type BackendDescriptor, withUrlParams } from '@sessions/core';
import { optionsFromUrl } from './url.js';

/** What the CLI and the test tooling need to know about this backend, without loading the driver. */
export const descriptor: BackendDescriptor = {
  name: 'mysql',
  packageName: '@sessions/mysql',
  storeExport: 'MySQLSessionStore',
  driver: 'mysql2',
  schemes: ['mysql', 'mariadb'],
  optionsFromUrl,
  testServer: {
    env: 'MYSQL_URL',
    service: 'mysql',
    storeUrl: (server, run) =>
      withUrlParams(server ?? 'mysql://root@127.0.0.1:3306/sessions', { tablePrefix: `${run}_` }),
  },
};
