import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeItem,
  encodeHistoryTransaction,
  encodeItem,
  isConnectionError,
  redactSecrets,
  SessionConnectionError,
  SessionCorruptDataError,
  SessionStorageError,
  SessionValidationError,
  utf8ByteLength,
  validateName,
  validateSessionId,
} from '../src/index.js';

describe('canonical item encoding', () => {
  it('sorts keys at every level, drops undefined properties and writes -0 as 0', () => {
    expect(encodeItem({ b: 1, a: { d: [{ z: 1, y: -0 }], c: undefined } })).toBe('{"a":{"d":[{"y":0,"z":1}]},"b":1}');
  });

  it('is stable: decoding and re-encoding gives the same text, and deep-equal inputs give equal text', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue()), (item) => {
        const text = encodeItem(item);
        expect(encodeItem(decodeItem(text))).toBe(text);
        const reversed = Object.fromEntries(Object.entries(item).reverse());
        expect(encodeItem(reversed)).toBe(text);
        expect(decodeItem(text)).toEqual(JSON.parse(JSON.stringify(item)));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps own __proto__ keys as data', () => {
    const item = JSON.parse('{"__proto__":{"polluted":true},"type":"message"}');
    const back = decodeItem(encodeItem(item));
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses corrupted stored text with a typed error', () => {
    expect(() => decodeItem('{"type":')).toThrow(SessionCorruptDataError);
  });

  it('counts UTF-8 bytes exactly like Buffer does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const text = `${a}\ud800${b}\udc00`;
        expect(utf8ByteLength(text)).toBe(Buffer.byteLength(text, 'utf8'));
      }),
    );
  });
});

describe('history transactions', () => {
  const append = (content: string, operationId = 'op') =>
    encodeHistoryTransaction({ operationId, transaction: { type: 'append_items', items: [{ content }] } });

  it('fingerprints the transaction, not the operation id', () => {
    expect(append('a').fingerprint).toBe(append('a', 'other').fingerprint);
    expect(append('a').fingerprint).not.toBe(append('b').fingerprint);
    const replace = encodeHistoryTransaction({
      operationId: 'op',
      transaction: { type: 'replace_suffix', expectedSuffix: [], replacement: [{ content: 'a' }] },
    });
    expect(replace.fingerprint).not.toBe(append('a').fingerprint);
    expect(replace.replacement).toEqual(append('a').replacement);
  });

  it('gives distinct fingerprints to many distinct transactions', () => {
    const seen = new Set(Array.from({ length: 20_000 }, (_, i) => append(`item ${i}`).fingerprint));
    expect(seen.size).toBe(20_000);
  });
});

describe('names and ids', () => {
  it('refuses names that could inject SQL or alias another namespace', () => {
    for (const bad of ['', 'a-b', 'a.b', 'a"b', 'x; drop table t', '1abc', 'a b', 'é', 'a'.repeat(49)]) {
      expect(() => validateName(bad, 'tablePrefix')).toThrow(SessionValidationError);
    }
    expect(validateName('agent_sessions_2', 'tablePrefix')).toBe('agent_sessions_2');
  });

  it('measures the id limit in UTF-8 bytes', () => {
    expect(validateSessionId('😀'.repeat(128))).toHaveLength(256);
    expect(() => validateSessionId('😀'.repeat(129))).toThrow(SessionValidationError);
  });
});

describe('errors', () => {
  it('masks credentials in URLs and key=value secrets', () => {
    const text = 'connect redis://user:s3cret@db:6379 and postgres://me:pw@h/db?password=hunter2 failed';
    const masked = redactSecrets(text);
    expect(masked).not.toMatch(/s3cret|hunter2|me:pw/);
    expect(masked).toContain('redis://***@db:6379');
  });

  it('storage errors keep the driver error as cause and never print its credentials', () => {
    const driver = Object.assign(new Error('getaddrinfo ENOTFOUND for rediss://admin:topsecret@cache.internal'), {
      code: 'ENOTFOUND',
    });
    const error = new SessionStorageError('getItems', driver);
    expect(error.cause).toBe(driver);
    expect(error.message).not.toContain('topsecret');
    expect(error.message).toContain('getItems failed');
    expect(isConnectionError(driver)).toBe(true);
    expect(new SessionConnectionError('addItems', driver).code).toBe('CONNECTION');
    expect(isConnectionError(new Error('syntax error at or near'))).toBe(false);
    expect(isConnectionError(new Error('wrapped', { cause: driver }))).toBe(true);
  });
});

describe('credential masking corner cases', () => {
  it('masks passwords containing @ / # and secret-looking parameters with quotes', () => {
    for (const url of ['postgres://app:p@ssw0rd@127.0.0.1:1/app', 'redis://u:pa/ss@h:1', 'mongodb://u:s3cr#et@h/db']) {
      const masked = redactSecrets(`failed to reach ${url} now`);
      expect(masked).not.toMatch(/ssw0rd|pa\/ss|s3cr/);
      expect(masked).toContain('now');
    }
    const params = redactSecrets("access_token=abc client_secret=def api_key=ghi password='my secret'");
    expect(params).not.toMatch(/abc|def|ghi|my secret/);
  });
});
