import type { Session, SessionStore } from '../protocol/session.js';

/** What a backend declares about itself. A capability set to `false` is verified as absent. */
export interface ContractCapabilities {
  /** `ttlSeconds` is honoured (expiry after the last write, expired reads empty at once). */
  ttl: boolean;
  /** `applyHistoryTransaction`: atomic and idempotent by `operationId`. */
  transactions: boolean;
  /** `replaceHistoryWithCompaction`: atomic swap of the whole history. */
  compaction: boolean;
  /** `applyHistoryMutations` (replace a function call by `callId`). */
  historyMutations: boolean;
  /**
   * Largest encoded item (UTF-8 bytes of its JSON) the backend stores, when it has a limit.
   * The suite then checks that a bigger item is refused with `SessionItemTooLargeError` and
   * nothing is written. The 1 MiB (and 2 MiB) round trip runs unless this is below 4 MiB.
   */
  maxItemBytes?: number;
  /** The session catalog (list, info, delete, metadata): on unless set to false (a store of another library). */
  catalog?: boolean;
}

export interface ContractStoreOptions {
  ttlSeconds?: number;
}

/**
 * Raw access to the database, bypassing the session under test (as Auth.js's adapter tests
 * do), so the suite checks what really landed rather than what the session reports.
 */
export interface ContractInspector {
  /** Items physically stored for `sessionId` right now, ignoring any TTL. */
  storedItemCount(sessionId: string): Promise<number>;
}

export interface SessionContractOptions<S extends Session = Session> {
  /** A fresh store for one test; the suite closes it afterwards. */
  createStore(options: ContractStoreOptions): SessionStore<S> | Promise<SessionStore<S>>;
  capabilities: ContractCapabilities;
  /** Recommended: lets the suite check the database directly. Built from the same store. */
  inspect?: (store: SessionStore<S>) => ContractInspector;
  /** Per-test timeout in ms (default 30 s). */
  timeout?: number;
}

export interface ContractContext {
  store: SessionStore;
  /** A session under a unique id (ids get a per-test prefix so tests never share data). */
  session(suffix?: string): Session;
  /** The full id that `session(suffix)` would use. */
  idFor(suffix?: string): string;
  /** Another store on the same database (for TTL variants), closed after the test. */
  openStore(options: ContractStoreOptions): Promise<SessionStore>;
  inspector: ContractInspector | undefined;
  capabilities: ContractCapabilities;
}

export interface ContractCase {
  group: string;
  name: string;
  /** Only registered when the predicate holds for the backend's capabilities. */
  when?: (capabilities: ContractCapabilities) => boolean;
  run(context: ContractContext): Promise<void>;
}
