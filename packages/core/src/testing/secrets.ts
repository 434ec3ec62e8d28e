/**
 * The credential-safety suite every backend runs with one call: for each hostile password, a
 * store built with it must not show it through `console.log(store)`, `JSON.stringify(store)`, a
 * session, or any error it throws (message, stack, `util.inspect`, JSON and the whole cause chain).
 *
 *   describeCredentialSafety('redis', {
 *     createStore: (password) => new RedisSessionStore({ url: `redis://:${password}@127.0.0.1:1` }),
 *   });
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { SessionStore } from '../protocol/session.js';

/**
 * Every password contains the marker `S3CRET`, so a leak of any part of it around the odd
 * characters is still found. The odd characters are the ones that broke masking before: spaces
 * and tabs, `@` and `:` inside the password, percent signs, `/`, `#`, `?`, quotes and non-ASCII.
 */
export const HOSTILE_PASSWORDS: readonly string[] = [
  'S3CRETpw',
  'S3CRET pw',
  'S3CRET\tpw',
  'p@S3CRET',
  'S3CRET:pw',
  'S3CRET%20pw',
  'S3CRET/pw#frag?x=1',
  `S3CRET'"pw`,
  'S3CRETpä',
];

/** The part every hostile password shares; no printed form may contain it. */
export const LEAK_MARKER = 'S3CRET';

export interface CredentialSafetyOptions {
  /** A store whose credentials include `password` (in its URL or options). It must do no I/O yet. */
  createStore(password: string): SessionStore | Promise<SessionStore>;
  /**
   * A call that fails (the store points at a closed port or a server that refuses the password).
   * Default: `store.session('credential-safety').getItems()`.
   */
  failingCall?(store: SessionStore): Promise<unknown>;
  /** Per-test timeout in ms (default 60 s). */
  timeout?: number;
}

/** Everything printable about `value`, the way loggers print it. */
export function printedForms(value: unknown): string[] {
  const forms = [inspect(value, { depth: 20, showHidden: true, getters: false }), safeString(value), safeJson(value)];
  for (let e = value, depth = 0; e && typeof e === 'object' && depth < 10; depth++) {
    const error = e as { message?: unknown; stack?: unknown; cause?: unknown };
    forms.push(String(error.message ?? ''), String(error.stack ?? ''));
    e = error.cause;
  }
  return forms;
}

/** Fails the test when any printed form of `value` contains the leak marker. */
export function expectNoCredential(value: unknown, what: string): void {
  for (const form of printedForms(value)) {
    if (form.includes(LEAK_MARKER)) {
      expect.fail(
        `${what} shows a credential: ${form.slice(Math.max(0, form.indexOf(LEAK_MARKER) - 80), form.indexOf(LEAK_MARKER) + 40)}`,
      );
    }
  }
}

export function describeCredentialSafety(name: string, options: CredentialSafetyOptions): void {
  const timeout = options.timeout ?? 60_000;
  const failingCall = options.failingCall ?? ((store: SessionStore) => store.session('credential-safety').getItems());
  describe(`credential safety: ${name}`, () => {
    it(
      'a store, its sessions and its errors never print a password',
      async () => {
        await Promise.all(
          HOSTILE_PASSWORDS.map(async (password) => {
            let store: SessionStore;
            try {
              store = await options.createStore(password);
            } catch (error) {
              expectNoCredential(error, `the constructor's error for ${JSON.stringify(password)}`);
              return;
            }
            try {
              expectNoCredential(store, `the store built with ${JSON.stringify(password)}`);
              expectNoCredential(store.session('credential-safety'), 'a session');
              const error = await failingCall(store).then(
                () => expect.fail(`the failing call succeeded with ${JSON.stringify(password)}`),
                (e: unknown) => e,
              );
              expect((error as Error).name, String(error)).toMatch(/^Session\w*Error$/);
              expectNoCredential(error, `the error of a failing call with ${JSON.stringify(password)}`);
            } finally {
              await store.close();
            }
          }),
        );
      },
      timeout,
    );
  });
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '';
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}
