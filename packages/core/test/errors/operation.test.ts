import { describe, expect, it } from 'vitest';
import { mapDriverError, runOperation } from '../../src/errors/operation.js';
import {
  SessionClosedError,
  SessionConflictError,
  SessionConnectionError,
  SessionStorageError,
  SessionValidationError,
} from '../../src/errors/session-errors.js';
import { settleTransaction, TRANSACTION_VERDICTS } from '../../src/errors/verdict.js';

describe('runOperation', () => {
  it('passes results and SessionErrors through unchanged', async () => {
    await expect(runOperation('getItems', async () => 7, mapDriverError)).resolves.toBe(7);
    const own = new SessionValidationError('bad');
    await expect(runOperation('getItems', () => Promise.reject(own), mapDriverError)).rejects.toBe(own);
  });

  it('maps driver errors under the public operation name, keeping the cause', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const error = await runOperation('addItems', () => Promise.reject(refused), mapDriverError).catch((e) => e);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect(error.operation).toBe('addItems');
    expect(error.cause).toBe(refused);
    const other = await runOperation('popItem', () => Promise.reject(new Error('syntax')), mapDriverError).catch(
      (e) => e,
    );
    expect(other).toBeInstanceOf(SessionStorageError);
    expect(other).not.toBeInstanceOf(SessionConnectionError);
  });

  it('reports SessionClosedError when the store was closed meanwhile', async () => {
    const error = await runOperation(
      'getItems',
      () => Promise.reject(new Error('socket gone')),
      mapDriverError,
      () => true,
    ).catch((e) => e);
    expect(error).toBeInstanceOf(SessionClosedError);
  });
});

describe('settleTransaction', () => {
  it('accepts applied and replayed, refuses the two conflicts with their reason', () => {
    expect(TRANSACTION_VERDICTS).toEqual(['applied', 'replayed', 'operation_id_reused', 'suffix_mismatch']);
    expect(() => settleTransaction('applied', 'op')).not.toThrow();
    expect(() => settleTransaction('replayed', 'op')).not.toThrow();
    for (const reason of ['operation_id_reused', 'suffix_mismatch'] as const) {
      try {
        settleTransaction(reason, 'op-1');
        expect.fail('no conflict');
      } catch (error) {
        expect(error).toBeInstanceOf(SessionConflictError);
        expect((error as SessionConflictError).reason).toBe(reason);
      }
    }
    expect(() => settleTransaction('duplicate' as never, 'op')).toThrow(TypeError);
  });
});
