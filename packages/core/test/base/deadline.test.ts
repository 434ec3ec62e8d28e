import { describe, expect, it } from 'vitest';
import {
  BaseSession,
  type EncodedHistoryTransaction,
  InMemorySessionStore,
  MAX_TTL_SECONDS,
  SessionConnectionError,
  SessionCorruptDataError,
  SessionTimeoutError,
  SessionValidationError,
} from '../../src/index.js';

/** A backend whose database never answers, or answers with `reply`. */
class SilentSession extends BaseSession {
  reply: string | undefined = undefined;
  silent = true;
  private wait<T>(value: T): Promise<T> {
    return this.silent ? new Promise<T>(() => {}) : Promise.resolve(value);
  }
  protected readItems() {
    return this.wait<string[]>([]);
  }
  protected appendItems() {
    return this.wait(undefined);
  }
  protected popLastItem() {
    return this.wait(this.reply);
  }
  protected clearItems() {
    return this.wait(undefined);
  }
  protected commitTransaction(_tx: EncodedHistoryTransaction) {
    return this.wait(undefined);
  }
  protected replaceAllItems() {
    return this.wait(undefined);
  }
  protected readMetadata() {
    return this.wait(undefined);
  }
  protected writeMetadata() {
    return this.wait(true);
  }
}

describe('the deadline of every operation', () => {
  it('ends a read that never answers with SessionTimeoutError, saying nothing was written', async () => {
    const session = new SilentSession({ sessionId: 's', timeoutMs: 200 });
    const started = Date.now();
    const error = await session.getItems().catch((e) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(SessionTimeoutError);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect(error).toMatchObject({ code: 'TIMEOUT', operation: 'getItems', retryable: true, mayHaveApplied: false });
    expect(error.message).toContain('nothing was written');
  });

  it('labels a write that timed out as possibly applied, and says how to retry safely', async () => {
    const session = new SilentSession({ sessionId: 's', timeoutMs: 100 });
    const error = await session.addItems([{ type: 'message', content: 'x' }]).catch((e) => e);
    expect(error).toMatchObject({ code: 'TIMEOUT', operation: 'addItems', mayHaveApplied: true, timeoutMs: 100 });
    expect(error.message).toContain('same operationId');
  });

  it('defaults to 10 s and refuses a bad timeoutMs before anything else', () => {
    expect(new SilentSession({ sessionId: 's' }).timeoutMs).toBe(10_000);
    for (const timeoutMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '100']) {
      expect(() => new SilentSession({ sessionId: 's', timeoutMs: timeoutMs as never })).toThrow(
        SessionValidationError,
      );
      expect(() => new InMemorySessionStore({ timeoutMs: timeoutMs as never })).toThrow(SessionValidationError);
    }
    expect(new InMemorySessionStore({ timeoutMs: 250 }).session('s').timeoutMs).toBe(250);
  });
});

describe('limits checked before I/O', () => {
  it('ttlSeconds above 100 years is refused', () => {
    expect(() => new InMemorySessionStore({ ttlSeconds: MAX_TTL_SECONDS + 1 })).toThrow(/at most/);
    expect(() => new InMemorySessionStore({ ttlSeconds: 1e13 })).toThrow(SessionValidationError);
    expect(new InMemorySessionStore({ ttlSeconds: MAX_TTL_SECONDS }).ttlSeconds).toBe(MAX_TTL_SECONDS);
  });
});

describe('a pop that meets corrupt data', () => {
  it('says it removed the item and hands back its stored text', async () => {
    const session = new SilentSession({ sessionId: 's' });
    session.silent = false;
    session.reply = '{"type":"message", broken';
    const error = await session.popItem().catch((e) => e);
    expect(error).toBeInstanceOf(SessionCorruptDataError);
    expect(error.message).toContain('popItem removed the newest item');
    expect(error.removedText).toBe('{"type":"message", broken');
  });
});
