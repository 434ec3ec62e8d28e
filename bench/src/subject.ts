/**
 * What every benchmarked implementation looks like to the scenarios: our store, the raw-driver
 * baseline and each peer are all wrapped as a `Subject`, so the same code times, counts and
 * verifies each of them.
 */
import type { AgentInputItem } from '@sessions/core';
import type { CatalogSpec } from './catalog-stores.ts';
import type { RoundTripCounter } from './proxy.ts';

export type OpKind = 'add1' | 'add10' | 'getAll' | 'getLast20' | 'pop';

export const OP_LABEL: Record<OpKind, string> = {
  add1: 'addItems(1)',
  add10: 'addItems(10)',
  getAll: 'getItems()',
  getLast20: 'getItems(20)',
  pop: 'popItem()',
};

export type SubjectRole = 'ours' | 'raw' | 'peer';

/**
 * How a subject supports an operation: `native`, `emulated` (possible only by doing more work,
 * e.g. reading everything to keep the newest 20: measured, shown, but not held against a target),
 * or absent (not measured).
 */
export type Support = { kind: 'native' } | { kind: 'emulated'; how: string };

export interface SubjectSession {
  /** Appends a batch produced by `Subject.prepare` (conversion is not timed). */
  add(batch: unknown): Promise<void>;
  getAll(): Promise<unknown[]>;
  getLast(limit: number): Promise<unknown[]>;
  pop(): Promise<unknown>;
  clear(): Promise<void>;
}

export interface Subject {
  role: SubjectRole;
  /** Shown in the tables, e.g. `@sessions/redis` or `LangChain RedisChatMessageHistory`. */
  label: string;
  supports: Partial<Record<OpKind, Support>>;
  /** Turns items into what this subject's `add` takes (done before timing starts). */
  prepare(items: AgentInputItem[]): unknown;
  session(sessionId: string): SubjectSession;
  /** Writes a history of `items` fast (bulk where the subject's storage allows it). */
  seed(sessionId: string, items: AgentInputItem[]): Promise<void>;
  close(): Promise<void>;
  /**
   * For in-process backends (SQLite on a file): a counter of calls into the driver, reported
   * beside "in-process" in place of network round trips.
   */
  driverCalls?: RoundTripCounter;
}

/** Builds a subject against a server URL (the direct one for timing, the counted one for round trips). */
export type SubjectFactory = (url: string) => Promise<Subject>;

export interface SubjectSpec {
  role: SubjectRole;
  label: string;
  create: SubjectFactory;
  /**
   * When set, this subject reads the histories another subject seeded (the raw baseline reads the
   * very rows our store wrote, with the same queries).
   */
  sharesStorageWith?: SubjectRole;
}

/** One backend to benchmark: our store, its raw-driver baseline and its peers, on one server. */
export interface BackendSpec {
  /** `sqlite`, `postgres`, … */
  name: string;
  /** The package name shown in the report. */
  packageName: string;
  /** The server it needs, or none (SQLite file, in-memory). */
  service?: string;
  /** How round trips are counted: through the proxy, or not at all (in-process). */
  roundTrips: 'proxy' | 'in-process';
  /** Items seeded into each pop session, when the run's default does not suit the server. */
  popSeed?: number;
  ours: SubjectSpec;
  raw?: SubjectSpec;
  peers: SubjectSpec[];
  /** How to measure the session catalog (`listSessions` at two store sizes, the write-path cost). */
  catalog?: CatalogSpec;
}

export const NATIVE: Support = { kind: 'native' };
export const ALL_NATIVE: Partial<Record<OpKind, Support>> = {
  add1: NATIVE,
  add10: NATIVE,
  getAll: NATIVE,
  getLast20: NATIVE,
  pop: NATIVE,
};
