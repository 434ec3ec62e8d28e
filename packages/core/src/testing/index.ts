/**
 * The contract every session backend must pass, for vitest. One call registers it:
 *
 *   describeSessionContract('my-store', {
 *     createStore: () => new MyStore({ url }),
 *     capabilities: { ttl: true, transactions: true, compaction: true, historyMutations: true },
 *     inspect: (store) => ({ storedItemCount: (id) => countRowsDirectly(id) }),
 *   });
 */
import { describe, it } from 'vitest';
import type { Session } from '../protocol/session.js';
import { basicCases } from './cases/basics.js';
import { catalogCases } from './cases/catalog.js';
import { compactionCases } from './cases/compaction.js';
import { concurrencyCases } from './cases/concurrency.js';
import { idCases } from './cases/ids.js';
import { largeItemCases } from './cases/large-items.js';
import { lifecycleCases } from './cases/lifecycle.js';
import { roundTripCases } from './cases/round-trip.js';
import { transactionCases } from './cases/transactions.js';
import { ttlCases } from './cases/ttl.js';
import { validationCases } from './cases/validation.js';
import { openContext, runContractCases } from './context.js';
import type { ContractCase, SessionContractOptions } from './types.js';

export { type RotationRaceOptions, type RotationRaceResult, rotationRace } from './rotation-race.js';
export {
  type CredentialSafetyOptions,
  describeCredentialSafety,
  expectNoCredential,
  HOSTILE_PASSWORDS,
  LEAK_MARKER,
  printedForms,
} from './secrets.js';
export type {
  ContractCapabilities,
  ContractCase,
  ContractContext,
  ContractInspector,
  ContractStoreOptions,
  SessionContractOptions,
} from './types.js';
export { runContractCases };

/** Every case of the contract, grouped; exported so tools can list or run them. */
export const contractCases: readonly ContractCase[] = [
  ...basicCases,
  ...roundTripCases,
  ...idCases,
  ...validationCases,
  ...concurrencyCases,
  ...largeItemCases,
  ...ttlCases,
  ...transactionCases,
  ...compactionCases,
  ...lifecycleCases,
  ...catalogCases,
];

/** Registers the whole contract suite for one backend under `describe(name)`. */
export function describeSessionContract<S extends Session>(name: string, options: SessionContractOptions<S>): void {
  const timeout = options.timeout ?? 30_000;
  const generic = options as unknown as SessionContractOptions;
  describe(`session contract: ${name}`, () => {
    const groups = new Map<string, ContractCase[]>();
    for (const testCase of contractCases) {
      if (testCase.when && !testCase.when(options.capabilities)) continue;
      groups.set(testCase.group, [...(groups.get(testCase.group) ?? []), testCase]);
    }
    for (const [group, cases] of groups) {
      describe(group, () => {
        for (const testCase of cases) {
          it(
            testCase.name,
            async () => {
              const { context, cleanup } = await openContext(generic);
              try {
                await testCase.run(context);
              } finally {
                await cleanup();
              }
            },
            timeout,
          );
        }
      });
    }
  });
}
