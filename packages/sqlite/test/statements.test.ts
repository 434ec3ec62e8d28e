import { describe, expect, it } from 'vitest';
import { transactionVerdict } from '../src/engine/statements.js';

describe('transactionVerdict: the operation row a transaction batch reads back', () => {
  it("speaks core's vocabulary", () => {
    expect(transactionVerdict({ fingerprint: 'f', nonce: 'mine' }, 'mine', 'f')).toBe('applied');
    expect(transactionVerdict(undefined, 'mine', 'f')).toBe('suffix_mismatch');
    expect(transactionVerdict({ fingerprint: 'f', nonce: 'earlier' }, 'mine', 'f')).toBe('replayed');
    expect(transactionVerdict({ fingerprint: 'other', nonce: 'earlier' }, 'mine', 'f')).toBe('operation_id_reused');
  });
});
