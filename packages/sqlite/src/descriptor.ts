/**
 * What the rest of the project needs to know about this backend, without loading
 * `@libsql/client`: published as `@sessions/sqlite/descriptor`.
 */
import { type BackendDescriptor, withUrlParams } from '@sessions/core';
import { matchesSqliteUrl, optionsFromUrl, SQLITE_SCHEMES } from './url.js';

export const descriptor: BackendDescriptor = {
  name: 'sqlite',
  packageName: '@sessions/sqlite',
  storeExport: 'SqliteSessionStore',
  driver: '@libsql/client',
  schemes: SQLITE_SCHEMES,
  // The schemes, plus `:memory:`, which has none.
  matches: matchesSqliteUrl,
  optionsFromUrl,
  // A local file or `:memory:` needs no server to be started; `SQLITE_URL` names one to use instead.
  testServer: {
    env: 'SQLITE_URL',
    service: 'none',
    // One in-process database per store; the prefix keeps runs apart on a shared SQLITE_URL too.
    storeUrl: (server, run) => withUrlParams(server ?? ':memory:', { tablePrefix: `${run}_` }),
  },
};
