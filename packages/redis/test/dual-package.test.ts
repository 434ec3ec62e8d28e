/**
 * The dual-package hazard (issue #14, point 5): an app that loads `@sessions/redis` through
 * `require` (the CommonJS build) and `@sessions/core` through `import` (the ESM build) holds two
 * copies of every error class, and the prototype chain of one never contains the other. Core's
 * error classes answer `instanceof` by the kind an error is branded with (`Symbol.hasInstance`,
 * under a `Symbol.for` key every copy shares), so `instanceof` holds across the builds. This
 * test loads the built files (dist/): run `pnpm build` first.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

type Core = typeof import('@sessions/core');
type Redis = typeof import('../src/index.js');

function load() {
  const cjsPath = require.resolve('@sessions/redis');
  if (!existsSync(cjsPath)) throw new Error(`${cjsPath} is missing: run \`pnpm --filter @sessions/redis build\` first`);
  return {
    cjsPath,
    cjs: { redis: require('@sessions/redis') as Redis, core: require('@sessions/core') as Core },
    esm: async () => ({
      redis: (await import('@sessions/redis')) as unknown as Redis,
      core: (await import('@sessions/core')) as Core,
    }),
  };
}

function thrown(build: () => unknown): Error {
  try {
    build();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('the CommonJS and the ESM builds loaded side by side', () => {
  it('are two copies: different store classes and different error classes', async () => {
    const { cjsPath, cjs, esm } = load();
    const { redis, core } = await esm();
    expect(cjsPath).toMatch(/dist[\\/]index\.cjs$/);
    expect(require.resolve('@sessions/core')).toMatch(/dist[\\/]index\.cjs$/);
    expect(cjs.redis.RedisSessionStore).not.toBe(redis.RedisSessionStore);
    expect(cjs.core.SessionValidationError).not.toBe(core.SessionValidationError);
  });

  it("an error thrown by the CommonJS store is instanceof the ESM build's classes", async () => {
    const { cjs, esm } = load();
    const { core } = await esm();
    const error = thrown(
      () => new cjs.redis.RedisSessionStore({ url: 'redis://127.0.0.1:1', tllSeconds: 60 } as never),
    );
    expect(error.message).toContain('did you mean "ttlSeconds"?');
    // The ordinary prototype check says no: without core's Symbol.hasInstance, `instanceof` below would fail.
    expect(Function.prototype[Symbol.hasInstance].call(core.SessionValidationError, error)).toBe(false);
    expect(error).toBeInstanceOf(core.SessionValidationError);
    expect(error).toBeInstanceOf(core.SessionError);
    expect(error).toBeInstanceOf(cjs.core.SessionValidationError);
    expect(error).not.toBeInstanceOf(core.SessionClosedError);
    expect(error).not.toBeInstanceOf(core.SessionStorageError);
    expect(error).not.toBeInstanceOf(core.SessionSerializationError);
  });

  it("an error thrown by the ESM store is instanceof the CommonJS build's classes", async () => {
    const { cjs, esm } = load();
    const { redis, core } = await esm();
    const error = thrown(() => new redis.RedisSessionStore({ url: 'redis://127.0.0.1:1', tllSeconds: 60 } as never));
    expect(Function.prototype[Symbol.hasInstance].call(cjs.core.SessionValidationError, error)).toBe(false);
    expect(error).toBeInstanceOf(cjs.core.SessionValidationError);
    expect(error).toBeInstanceOf(cjs.core.SessionError);
    expect(error).toBeInstanceOf(core.SessionValidationError);
    expect(error).not.toBeInstanceOf(cjs.core.SessionClosedError);
    expect(error).not.toBeInstanceOf(cjs.core.SessionConflictError);
  });

  it('so does an error from an operation: a closed CommonJS store, checked with the ESM classes', async () => {
    const { cjs, esm } = load();
    const { core } = await esm();
    const store = new cjs.redis.RedisSessionStore({ url: 'redis://127.0.0.1:1' });
    const session = store.session('a');
    await store.close();
    const error = await session.getItems().then(
      () => expect.fail('a closed store answered'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(core.SessionClosedError);
    expect(error).toBeInstanceOf(core.SessionError);
    expect(error).not.toBeInstanceOf(core.SessionValidationError);
  });
});
