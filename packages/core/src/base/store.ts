import { type CatalogPosition, type CatalogQuery, encodeCursor, parseListOptions } from '../catalog/query.js';
import {
  validateCreateIfMissing,
  validateSessionId,
  validateTimeoutMs,
  validateTtlSeconds,
} from '../encoding/arguments.js';
import { isReadOperation, mapDriverError, runOperation } from '../errors/operation.js';
import { SessionClosedError, type SessionError } from '../errors/session-errors.js';
import type {
  ListSessionsOptions,
  SessionCatalog,
  SessionFilter,
  SessionInfo,
  SessionPage,
} from '../protocol/catalog.js';
import type { Session, SessionStore } from '../protocol/session.js';
import type { ClientHandle } from './client-handle.js';
import { INSPECT } from './inspect.js';
import { checkOptions } from './options.js';
import type { BaseSessionOptions } from './session.js';

/** Options every store accepts. */
export interface BaseSessionStoreOptions {
  /** Default TTL for every session of the store (sliding, from the last write). */
  ttlSeconds?: number;
  /**
   * Deadline of every operation in milliseconds (default 10,000): connecting, queueing and the
   * database call together; past it a call fails with `SessionTimeoutError`. Backends also hand
   * it to their driver's own timeouts, so that an abandoned call ends and frees its connection.
   */
  timeoutMs?: number;
  /**
   * `false`: never create a schema, table, index or file. Reads treat what is missing as empty;
   * writes fail. For tools that only read (a copy's source) and for locked-down deployments.
   * Default `true`: created on first use (or by `setup()`).
   */
  createIfMissing?: boolean;
}

/**
 * Lifecycle shared by every store: the options guard runs first; `session(id)` validates the id
 * and does no I/O; `close()` is idempotent, releases only the clients the store opened itself
 * (see {@link ClientHandle}), and makes every later call on the store or its sessions fail with
 * `SessionClosedError`; `await using` closes it. `console.log(store)` shows only `describe()`.
 */
export abstract class BaseSessionStore<S extends Session> implements SessionStore<S>, SessionCatalog {
  readonly ttlSeconds: number | undefined;
  readonly timeoutMs: number;
  readonly createIfMissing: boolean;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #clients: ClientHandle<unknown>[] = [];

  /** `knownOptions`: every option key the subclass accepts; any other key is refused by name. */
  constructor(options: BaseSessionStoreOptions, knownOptions?: readonly string[]) {
    if (knownOptions) {
      checkOptions(new.target.name, options, ['ttlSeconds', 'timeoutMs', 'createIfMissing', ...knownOptions]);
    }
    this.ttlSeconds = validateTtlSeconds(options?.ttlSeconds);
    this.timeoutMs = validateTimeoutMs(options?.timeoutMs);
    this.createIfMissing = validateCreateIfMissing(options?.createIfMissing);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Give this to each session so that it refuses work once the store is closed. */
  protected readonly isClosed = (): boolean => this.#closed;

  protected abstract createSession(sessionId: string): S;

  /**
   * One page of the catalog for a validated query, in listing order, skipping expired sessions;
   * `next` is the position to resume after when more may follow (a backend that bounds its scan
   * may stop before `limit` matches and return the last position it examined).
   */
  protected abstract listCatalog(query: CatalogQuery): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }>;
  /** The catalog entry of one session, or undefined when it has none (or it expired). */
  protected abstract readSessionInfo(sessionId: string): Promise<SessionInfo | undefined>;
  /** Removes the session's items, operation ids and catalog entry (metadata included). */
  protected abstract removeSession(sessionId: string): Promise<void>;

  /** A page of sessions, newest `updatedAt` first; pass `nextCursor` back for the next one. */
  async listSessions(options?: ListSessionsOptions): Promise<SessionPage> {
    const query = parseListOptions(options);
    this.assertOpen();
    const { sessions, next } = await this.run('listSessions', () => this.listCatalog(query));
    return next ? { sessions, nextCursor: encodeCursor(next, query) } : { sessions };
  }

  /** Every session matching `filter`, page by page (`pageSize`, default 100). */
  async *sessions(filter: SessionFilter & { pageSize?: number } = {}): AsyncGenerator<SessionInfo> {
    const { pageSize = 100, ...rest } = filter;
    let cursor: string | undefined;
    do {
      const page = await this.listSessions({ ...rest, limit: pageSize, ...(cursor !== undefined && { cursor }) });
      yield* page.sessions;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  async getSessionInfo(sessionId: string): Promise<SessionInfo | undefined> {
    const id = validateSessionId(sessionId);
    this.assertOpen();
    return this.run('getSessionInfo', () => this.readSessionInfo(id));
  }

  async deleteSession(sessionId: string): Promise<void> {
    const id = validateSessionId(sessionId);
    this.assertOpen();
    await this.run('deleteSession', () => this.removeSession(id));
  }

  /** What every session of this store inherits from it; spread into the backend's session options. */
  protected sessionOptions(
    sessionId: string,
  ): Required<Pick<BaseSessionOptions, 'sessionId' | 'timeoutMs' | 'createIfMissing' | 'isClosed'>> &
    Pick<BaseSessionOptions, 'ttlSeconds'> {
    return {
      sessionId,
      ttlSeconds: this.ttlSeconds,
      timeoutMs: this.timeoutMs,
      createIfMissing: this.createIfMissing,
      isClosed: this.isClosed,
    };
  }

  /** Registers a client handle; `close()` releases it (which closes it only if the store owns it). */
  protected adopt<C>(handle: ClientHandle<C>): ClientHandle<C> {
    this.#clients.push(handle as ClientHandle<unknown>);
    return handle;
  }

  /** Releases what the store created itself: every adopted handle. Override to release more. */
  protected async releaseResources(): Promise<void> {
    await Promise.all(this.#clients.map((handle) => handle.release()));
  }

  /** Creates the schema, table or indexes the backend needs (idempotent; also done lazily on first use). */
  async setup(): Promise<void> {
    this.assertOpen();
    await this.run('setup', () => this.runSetup());
  }

  /** The backend's `setup.ts`; nothing by default (a backend with no schema). */
  protected runSetup(): Promise<void> {
    return Promise.resolve();
  }

  session(sessionId: string): S {
    this.assertOpen();
    return this.createSession(validateSessionId(sessionId));
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      this.#closing = this.releaseResources();
    }
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  protected assertOpen(): void {
    if (this.#closed) throw new SessionClosedError();
  }

  /** Store-level operations (setup, maintenance) get the same error mapping as session operations. */
  protected run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    return runOperation(operation, body, (op, error) => this.toSessionError(op, error), this.isClosed, {
      timeoutMs: this.timeoutMs,
      write: !isReadOperation(operation),
    });
  }

  /** The backend's `errors.ts` mapping; core's default knows only generic socket errors. */
  protected toSessionError(operation: string, error: unknown): SessionError {
    return mapDriverError(operation, error);
  }

  /** Public, credential-free facts about the store, for `console.log` and `JSON.stringify`. */
  protected describe(): Record<string, unknown> {
    return {};
  }

  toJSON(): Record<string, unknown> {
    return { ...this.describe(), ttlSeconds: this.ttlSeconds, timeoutMs: this.timeoutMs, closed: this.#closed };
  }

  [INSPECT](_depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    return `${this.constructor.name} ${inspect(this.toJSON(), options)}`;
  }
}
