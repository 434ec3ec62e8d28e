import { validateSessionId, validateTtlSeconds } from '../encoding/arguments.js';
import { SessionClosedError } from '../errors/index.js';
import type { Session, SessionStore } from '../protocol/session.js';

/** Options every store accepts. */
export interface BaseSessionStoreOptions {
  /** Default TTL for every session of the store (sliding, from the last write). */
  ttlSeconds?: number;
}

/**
 * Lifecycle shared by every store: `session(id)` validates the id and does no I/O; `close()`
 * is idempotent, releases only what the store created itself, and makes every later call on
 * the store or its sessions fail with `SessionClosedError`; `await using` closes it.
 */
export abstract class BaseSessionStore<S extends Session> implements SessionStore<S> {
  readonly ttlSeconds: number | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: BaseSessionStoreOptions = {}) {
    this.ttlSeconds = validateTtlSeconds(options.ttlSeconds);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Give this to each session so that it refuses work once the store is closed. */
  protected readonly isClosed = (): boolean => this.#closed;

  protected abstract createSession(sessionId: string): S;

  /** Release resources the store created (never a client the caller passed in). */
  protected abstract releaseResources(): Promise<void>;

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
}
