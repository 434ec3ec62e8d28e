import { type BackendDescriptor, withUrlParams } from '@sessions/core';
import { optionsFromUrl } from './url.js';

/** This backend, for tools that pick a store by URL (the CLI, the tests). Imports no driver. */
export const descriptor: BackendDescriptor = {
  name: 'redis',
  packageName: '@sessions/redis',
  storeExport: 'RedisSessionStore',
  driver: 'redis',
  schemes: ['redis', 'rediss'],
  optionsFromUrl,
  testServer: {
    env: 'REDIS_URL',
    service: 'redis',
    storeUrl: (server, run) => withUrlParams(server ?? 'redis://127.0.0.1:6379', { keyPrefix: run }),
  },
};
