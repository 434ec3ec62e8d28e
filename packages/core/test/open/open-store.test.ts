import { describe, expect, it } from 'vitest';
import { InMemorySessionStore, openSessionStore, resolveStoreUrl, SessionValidationError } from '../../src/index.js';
import { importBackend } from '../../src/open/load-backend.js';

const msg = (text: string) => ({ type: 'message' as const, role: 'user' as const, content: text });

describe('openSessionStore (core: no backend needed for these)', () => {
  it('memory: is a fresh store; memory:<name> is shared within the process', async () => {
    const a = await openSessionStore('memory:');
    expect(a).toBeInstanceOf(InMemorySessionStore);
    await a.session('s').addItems([msg('only in a')]);
    expect(await (await openSessionStore('memory:')).session('s').getItems()).toEqual([]);
    await (await openSessionStore('memory:core-open-test')).session('s').addItems([msg('shared')]);
    expect(await (await openSessionStore('memory:core-open-test')).session('s').getItems()).toEqual([msg('shared')]);
    expect(((await openSessionStore('memory:?ttlSeconds=60')) as InMemorySessionStore).ttlSeconds).toBe(60);
  });

  it('an unknown scheme is refused with the schemes it could be, and no credential echoed', async () => {
    const error = await openSessionStore('rediz://user:hunter2@host/0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionValidationError);
    expect((error as Error).message).toContain('did you mean redis:?');
    expect((error as Error).message).not.toContain('hunter2');
    await expect(resolveStoreUrl('')).rejects.toThrow(SessionValidationError);
  });

  it('a backend that is not installed names the npm line that installs it and its driver', async () => {
    const backend = { name: 'nosuch', packageName: '@sessions/no-such-backend', driver: 'no-such-driver', schemes: [] };
    const error = await importBackend(backend, backend.packageName).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionValidationError);
    expect((error as Error).message).toContain('install it with: npm i @sessions/no-such-backend no-such-driver');
    expect((error as Error & { cause?: { code?: string } }).cause?.code).toBe('ERR_MODULE_NOT_FOUND');
  });
});
