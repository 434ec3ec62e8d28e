// The encryption wrapper of @sessions/core over the real backends this package opens: the
// whole contract suite must pass through it, with every capability of the backend kept.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EncryptionOptions, withEncryption, wrapSessionStore } from '@sessions/core';
import { describeSessionContract } from '@sessions/core/testing';
import { afterAll, inject } from 'vitest';
import { openSessionStore } from '../src/open-store.js';

const encryption: EncryptionOptions = {
  keys: [
    { id: 'current', key: new Uint8Array(32).fill(9) },
    { id: 'previous', key: new Uint8Array(32).fill(4) },
  ],
};
const capabilities = { ttl: true, transactions: true, compaction: true, historyMutations: true };
const run = crypto.randomUUID().slice(0, 8).replace(/-/g, '');
const dir = mkdtempSync(join(tmpdir(), 'sessions-cli-encrypted-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const backends: [string, string][] = [
  ['SQLite file', `file:${join(dir, 'contract.db')}?tablePrefix=enc_${run}_`],
  ['Redis', `${inject('redisUrl')}?keyPrefix=enc_${run}`],
  ['PostgreSQL', `${inject('postgresUrl')}?tablePrefix=enc_${run}_`],
];

for (const [name, url] of backends) {
  describeSessionContract(`withEncryption over ${name}`, {
    createStore: async ({ ttlSeconds }) =>
      wrapSessionStore(await openSessionStore(url, ttlSeconds === undefined ? {} : { ttlSeconds }), (session) =>
        withEncryption(session, encryption),
      ),
    capabilities,
  });
}
