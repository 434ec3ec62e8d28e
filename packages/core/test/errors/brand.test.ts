import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as esm from '../../src/index.js';

// The CommonJS build of this very package: a second copy of every class, as in an app that
// loads one backend with `require` and another with `import`.
const cjs = createRequire(import.meta.url)('../../dist/index.cjs') as typeof esm;

describe('instanceof across copies of the package', () => {
  it('an error from one copy is an instance of the same class and its ancestors in the other', () => {
    expect(cjs.SessionValidationError).not.toBe(esm.SessionValidationError);
    const fromCjs = new cjs.SessionSerializationError('items[0]', 'bad');
    expect(fromCjs).toBeInstanceOf(esm.SessionSerializationError);
    expect(fromCjs).toBeInstanceOf(esm.SessionValidationError);
    expect(fromCjs).toBeInstanceOf(esm.SessionError);
    const fromEsm = new esm.SessionConnectionError('getItems', new Error('down'));
    expect(fromEsm).toBeInstanceOf(cjs.SessionConnectionError);
    expect(fromEsm).toBeInstanceOf(cjs.SessionStorageError);
    expect(fromEsm).toBeInstanceOf(cjs.SessionError);
  });

  it('an error is not an instance of an unrelated class of either copy', () => {
    const error = new cjs.SessionClosedError();
    expect(error instanceof esm.SessionValidationError).toBe(false);
    expect(error instanceof esm.SessionConflictError).toBe(false);
    expect(new esm.SessionStorageError('x', 1) instanceof cjs.SessionConnectionError).toBe(false);
    expect(new Error('plain') instanceof esm.SessionError).toBe(false);
    expect((null as unknown) instanceof esm.SessionError).toBe(false);
  });

  it('the wrapper errors carry the brand too', () => {
    expect(new cjs.SessionCopyConflictError('s', 2, 1, 3)).toBeInstanceOf(esm.SessionConflictError);
    expect(new cjs.SessionCopyConflictError('s', 2, 1, 3).reason).toBe('destination_diverged');
    const decryption = new esm.SessionDecryptionError({ reason: 'unknown_key', sessionId: 's', position: 0, count: 1 });
    expect(decryption).toBeInstanceOf(cjs.SessionCorruptDataError);
  });

  it("a user's subclass keeps ordinary instanceof and still counts as a SessionError", () => {
    class TenantError extends esm.SessionValidationError {}
    const error = new TenantError('no tenant');
    expect(error).toBeInstanceOf(TenantError);
    expect(error).toBeInstanceOf(cjs.SessionValidationError);
    expect(new esm.SessionValidationError('x') instanceof TenantError).toBe(false);
  });
});
