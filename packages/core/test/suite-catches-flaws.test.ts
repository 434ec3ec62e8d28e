// The contract suite is only worth something if it fails broken backends. Each flawed
// session below makes one classic mistake; the suite must report the case that targets it.
import { describe, expect, it } from 'vitest';
import { contractCases, runContractCases } from '../src/testing/index.js';
import { type Flaw, FlawedStore } from './mutants/flawed-session.js';

const expectations: Record<Flaw, string> = {
  'interleaved-batches':
    'concurrency > 20 writers x 10 batches on one session: nothing lost or duplicated, every batch contiguous and in order',
  'half-written-batch':
    'bad input > non-JSON items are refused with SessionSerializationError naming the path; nothing is written',
  'racy-pop': 'concurrency > 50 concurrent popItem on 30 items: 30 distinct items and 20 undefined',
  'oldest-first-limit': 'basics > limit returns the newest items, oldest first',
  'shared-objects': 'basics > returned items are fresh objects, and stored items do not alias the input',
  'colliding-ids': 'session ids > ids that could collide or escape a prefix stay isolated',
  'forgets-operation-ids':
    'history transactions > append_items applied twice with one operationId changes history once',
  'check-then-act-transaction':
    'history transactions > of concurrent replace_suffix with the same expectation exactly one wins',
  'ignores-ttl': 'ttl > a session expires ttlSeconds after its last write and reads as empty at once',
  'ignores-close': 'lifecycle > after close() every operation fails with SessionClosedError; close is idempotent',
  'non-atomic-compaction':
    'compaction and mutations > readers never see half a compaction, and a bad replacement changes nothing',
  'clear-keeps-operation-ids':
    'history transactions > clearSession forgets operation ids: the same id applies again afterwards',
  'lax-transaction-arguments':
    "history transactions > the SDK's argument rules: blank ids, unknown fields and throwing getters are refused before I/O",
  'replaces-every-duplicate-call':
    'compaction and mutations > applyHistoryMutations keeps one replacement when a call id is stored twice, as the SDK does',
  'count-outside-write': 'catalog > itemCount stays exact under 20 concurrent writers and pops',
  'cursor-skips-ties':
    'catalog > pages come newest first, list every session exactly once, and cursors work in another store',
  'metadata-last-write-wins':
    'catalog > updateMetadata merges, null removes a key, returns the result; concurrent writers never lose a key',
};

describe('the contract suite catches flawed sessions', () => {
  for (const [flaw, caseLabel] of Object.entries(expectations) as [Flaw, string][]) {
    it(`catches ${flaw}`, async () => {
      const rows = new Map();
      const group = caseLabel.split(' > ')[0];
      const { failed, passed } = await runContractCases(
        contractCases.filter((c) => c.group === group),
        {
          createStore: (options) => new FlawedStore(flaw, rows, options),
          capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
          inspect: (store) => ({ storedItemCount: async (id) => (store as FlawedStore).count(id) }),
        },
      );
      expect(failed).toContain(caseLabel);
      expect(passed.length + failed.length).toBeGreaterThan(0);
    });
  }

  it('a correct implementation of the same shape passes those groups', async () => {
    const rows = new Map();
    const { failed } = await runContractCases(
      contractCases.filter((c) => c.group !== 'ttl' && !c.name.startsWith('an expired session')),
      {
        // The TTL flaw is the only one these cases (those about expiry excluded) never reach.
        createStore: (options) => new FlawedStore('ignores-ttl', rows, options),
        capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
        inspect: (store) => ({ storedItemCount: async (id) => (store as FlawedStore).count(id) }),
      },
    );
    expect(failed).toEqual([]);
  });
});
