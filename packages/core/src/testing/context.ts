import type { Session, SessionStore } from '../protocol/session.js';
import type { ContractCase, ContractContext, SessionContractOptions } from './types.js';

/** Builds the context of one test and returns it with its cleanup. */
export async function openContext(
  options: SessionContractOptions,
): Promise<{ context: ContractContext; cleanup: () => Promise<void> }> {
  const prefix = `contract-${globalThis.crypto.randomUUID().slice(0, 8)}:`;
  const store = await options.createStore({});
  const extraStores: SessionStore[] = [];
  const idFor = (suffix = 'main') => `${prefix}${suffix}`;
  const context: ContractContext = {
    store,
    idFor,
    session: (suffix?: string): Session => store.session(idFor(suffix)),
    openStore: async (storeOptions) => {
      const extra = await options.createStore(storeOptions);
      extraStores.push(extra);
      return extra;
    },
    inspector: options.inspect?.(store),
    capabilities: options.capabilities,
  };
  const cleanup = async () => {
    await Promise.all([store, ...extraStores].map((s) => s.close()));
  };
  return { context, cleanup };
}

/**
 * Runs every applicable case outside any test runner and reports the names of those that
 * failed. Used to prove that deliberately broken sessions fail the suite.
 */
export async function runContractCases(
  cases: readonly ContractCase[],
  options: SessionContractOptions,
): Promise<{ failed: string[]; passed: string[] }> {
  const failed: string[] = [];
  const passed: string[] = [];
  for (const testCase of cases) {
    if (testCase.when && !testCase.when(options.capabilities)) continue;
    const { context, cleanup } = await openContext(options);
    const label = `${testCase.group} > ${testCase.name}`;
    try {
      await testCase.run(context);
      passed.push(label);
    } catch {
      failed.push(label);
    } finally {
      await cleanup();
    }
  }
  return { failed, passed };
}
