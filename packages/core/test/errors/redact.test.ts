import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { redactSecrets, redactUrl, registerSecret, registerUrlSecrets } from '../../src/errors/redact.js';
import { SessionConnectionError, SessionStorageError } from '../../src/errors/session-errors.js';

// Every case holds the marker S3CRET in the credential; none of the outputs may contain it.
const HOSTILE: Array<[string, string]> = [
  ['plain password', 'redis://:S3CRETpw@127.0.0.1:6379/0'],
  ['space in the password', 'redis://:S3CRET pw@127.0.0.1:6379'],
  ['tab in the password', 'postgres://app:S3CRET\tpw@db:5432/app'],
  ['@ in the password', 'postgres://app:p@S3CRET@db/app'],
  [': in the password', 'mongodb://app:S3CRET:pw@h1,h2/db?replicaSet=rs'],
  ['percent-encoded password', 'postgres://app:S3CRET%20p%40w@db/app'],
  ['/ and # in the password', 'redis://:S3CRET/pw#x@127.0.0.1:1'],
  ['user without password', 'redis://S3CRETuser@127.0.0.1:1'],
  ['password= query parameter', 'postgres://db/app?user=app&password=S3CRETpw&sslmode=require'],
  ['authToken= query parameter', 'libsql://db.turso.io?authToken=S3CRET.tok'],
  ['token= query parameter', 'http://127.0.0.1:8080/v2?token=S3CRETtok'],
  ['secret= query parameter', 'dynamodb://host/t?secret=S3CRETs'],
  ['Authorization header', 'request failed: Authorization: Bearer S3CRETtokenvalue'],
  ['bearer token', 'sent Bearer S3CRETabcdef to the server'],
  ['inspect output of options', "{ host: 'db', pass: 'S3CRETpw', user: 'app' }"],
  ['JSON of options', '{"host":"db","password":"S3CRET pw"}'],
  ['key=value connection string', "host=db user=app password='S3CRET pw' dbname=app"],
  ['two URLs on a line', 'Copying from redis://:S3CRET pw@127.0.0.1:1 to postgres://u:S3CRET2@db/x'],
];

describe('redactSecrets', () => {
  it.each(HOSTILE)('masks a credential: %s', (_name, text) => {
    const masked = redactSecrets(text);
    expect(masked).not.toContain('S3CRET');
    expect(masked).toContain('***');
  });

  it('keeps the host, port and path of a URL readable', () => {
    expect(redactUrl('redis://:S3CRET pw@127.0.0.1:6379/0')).toBe('redis://***@127.0.0.1:6379/0');
    expect(redactUrl('postgres://app:p@S3CRET@db:5432/app?sslmode=require')).toBe(
      'postgres://***@db:5432/app?sslmode=require',
    );
  });

  it('leaves text without credentials alone', () => {
    for (const text of ['redis://127.0.0.1:6379/0', 'file:./x.db', 'session "a@b" not found', 'getItems failed']) {
      expect(redactSecrets(text)).toBe(text);
    }
  });

  it('masks a registered secret wherever it appears, in any form', () => {
    registerSecret('S3CRET-registered value');
    expect(redactSecrets('weird driver text S3CRET-registered value!')).not.toContain('S3CRET');
    expect(redactSecrets('encoded S3CRET-registered%20value')).not.toContain('S3CRET');
  });
});

describe('error causes', () => {
  it('masks the whole cause chain, in place, for every way of printing it', () => {
    const root = Object.assign(new Error('connect ECONNREFUSED http://app:S3CRET pw@127.0.0.1:1/v2/pipeline'), {
      code: 'ECONNREFUSED',
      url: 'http://app:S3CRET pw@127.0.0.1:1/v2/pipeline',
      options: { host: '127.0.0.1', pass: 'S3CRET pw', headers: { authorization: 'Basic S3CRETb64' } },
    });
    const middle = new TypeError('fetch failed', { cause: root });
    const error = new SessionConnectionError('getItems', middle);
    const printed = [
      inspect(error, { depth: 20, showHidden: true }),
      String(error),
      JSON.stringify(error),
      String(error.stack),
      inspect(error.cause, { depth: 20 }),
      String((error.cause as Error).cause),
    ].join('\n');
    expect(printed).not.toContain('S3CRET');
    expect(printed).toContain('ECONNREFUSED');
    expect((root as { code: string }).code).toBe('ECONNREFUSED');
  });

  it('copies a frozen cause it cannot mask', () => {
    const frozen = Object.freeze(new Error('auth failed for redis://:S3CRETpw@h:1'));
    const error = new SessionStorageError('addItems', frozen);
    expect(inspect(error, { depth: 20 })).not.toContain('S3CRET');
    expect((error.cause as Error).message).toBe('auth failed for redis://***@h:1');
  });

  it('JSON.stringify shows name, code, message, own fields and the cause message', () => {
    const error = new SessionStorageError('popItem', new Error('boom'));
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'SessionStorageError',
      code: 'STORAGE',
      message: 'popItem failed: boom',
      operation: 'popItem',
      retryable: false,
      cause: { name: 'Error', message: 'boom' },
    });
  });
});

describe('registerUrlSecrets', () => {
  it('registers the user-info password (raw and decoded) and secret parameters of a URL', () => {
    registerUrlSecrets('postgres://app:S3CRET%20url%40pw@db/app?sslkey=S3CRETkeyfile&mode=ro');
    expect(redactSecrets('driver said: bad password "S3CRET url@pw"')).not.toContain('S3CRET');
    expect(redactSecrets('cannot read S3CRETkeyfile')).not.toContain('S3CRET');
    expect(() => registerUrlSecrets(undefined)).not.toThrow();
  });
});
