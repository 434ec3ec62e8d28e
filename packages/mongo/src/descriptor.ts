import { type BackendDescriptor, withUrlParams } from '@sessions/core';
import { optionsFromUrl } from './url.js';

/** What the CLI and the test tooling need to know about this backend; imports no driver. */
export const descriptor: BackendDescriptor = {
  name: 'mongodb',
  packageName: '@sessions/mongo',
  storeExport: 'MongoSessionStore',
  driver: 'mongodb',
  schemes: ['mongodb', 'mongodb+srv'],
  optionsFromUrl,
  testServer: {
    env: 'MONGODB_URL',
    service: 'mongodb',
    storeUrl: (server, run) => withUrlParams(server ?? 'mongodb://127.0.0.1:27017', { database: run }),
  },
};
