/**
 * The session protocol of the OpenAI Agents SDK for JavaScript, restated without importing it.
 *
 * Method names, parameters and optionality match `@openai/agents-core`'s `Session` and its
 * optional capabilities, so any class here is accepted as `run(agent, input, { session })`.
 * The type-level test in `test/sdk-compatibility.test-d.ts` proves it against the real SDK.
 */

/**
 * One conversation item: an `AgentInputItem` of the SDK (or any JSON object of your own).
 *
 * Declared as `any` on purpose: core must not depend on the SDK, and a narrower structural
 * type could not be assigned back to the SDK's item union. Contents are checked at run time
 * instead (see {@link encodeItems}): anything that is not plain JSON is rejected before I/O.
 */
// biome-ignore lint/suspicious/noExplicitAny: see the comment above.
export type AgentInputItem = any;

/** The minimal protocol every session implements (the SDK's `Session`). */
export interface Session {
  getSessionId(): Promise<string>;
  /** The newest `limit` items, oldest first; every item when `limit` is omitted. */
  getItems(limit?: number): Promise<AgentInputItem[]>;
  /** Appends `items` atomically, in order. */
  addItems(items: AgentInputItem[]): Promise<void>;
  /** Removes and returns the newest item, or `undefined` when there is none. */
  popItem(): Promise<AgentInputItem | undefined>;
  /** Forgets every item of this session. */
  clearSession(): Promise<void>;
}

export interface HistoryAppendItemsTransaction {
  type: 'append_items';
  items: AgentInputItem[];
}

export interface HistoryReplaceSuffixTransaction {
  type: 'replace_suffix';
  /** The items the history must currently end with (compared by deep equality). */
  expectedSuffix: AgentInputItem[];
  /** What replaces that suffix. */
  replacement: AgentInputItem[];
}

export type HistoryTransaction = HistoryAppendItemsTransaction | HistoryReplaceSuffixTransaction;

export interface HistoryTransactionArgs {
  /** Stable across retries: applying the same id and transaction twice changes history once. */
  operationId: string;
  transaction: HistoryTransaction;
}

/** The SDK's optional transaction capability (`isSessionHistoryTransactionAwareSession`). */
export interface HistoryTransactionCapable {
  applyHistoryTransaction(args: HistoryTransactionArgs): Promise<void>;
}

/** The SDK's optional atomic compaction swap. */
export interface CompactionCapable {
  replaceHistoryWithCompaction(items: AgentInputItem[]): Promise<void>;
}

export interface HistoryReplaceFunctionCallMutation {
  type: 'replace_function_call';
  callId: string;
  replacement: AgentInputItem;
}

export interface HistoryMutationArgs {
  mutations: HistoryReplaceFunctionCallMutation[];
}

/** The SDK's optional history rewrite capability (`isSessionHistoryRewriteAwareSession`). */
export interface HistoryMutationCapable {
  applyHistoryMutations(args: HistoryMutationArgs): Promise<void>;
}

/** A session with every capability this library implements. */
export interface FullSession extends Session, HistoryTransactionCapable, CompactionCapable, HistoryMutationCapable {}

/** A factory of sessions that owns (or borrows) a database connection. */
export interface SessionStore<S extends Session = Session> extends AsyncDisposable {
  /** A session handle for `sessionId`; performs no I/O. */
  session(sessionId: string): S;
  /** Releases what the store created itself; later operations fail with `SessionClosedError`. */
  close(): Promise<void>;
}
