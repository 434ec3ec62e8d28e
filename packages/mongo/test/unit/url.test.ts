import { backendMatches, redactSecrets, SessionValidationError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { descriptor } from '../../src/descriptor.js';
import { optionsFromUrl } from '../../src/url.js';

describe('optionsFromUrl (no I/O)', () => {
  it('takes ttlSeconds, database and collectionPrefix out of the URL and leaves the rest for the driver', () => {
    expect(optionsFromUrl('mongodb+srv://u:p@cluster/app?retryWrites=true&collectionPrefix=c_&database=d')).toEqual({
      url: 'mongodb+srv://u:p@cluster/app?retryWrites=true',
      collectionPrefix: 'c_',
      database: 'd',
    });
    expect(optionsFromUrl('mongodb://h1:27017,h2:27018/?ttlSeconds=86400&replicaSet=rs0')).toEqual({
      url: 'mongodb://h1:27017,h2:27018/?replicaSet=rs0',
      ttlSeconds: 86400,
    });
    expect(optionsFromUrl('mongodb://localhost')).toEqual({ url: 'mongodb://localhost' });
  });

  it('refuses a ttlSeconds that is not a number, and a URL that is not a string', () => {
    expect(() => optionsFromUrl('mongodb://localhost/?ttlSeconds=soon')).toThrow(SessionValidationError);
    expect(() => optionsFromUrl('mongodb://localhost/?ttlSeconds=')).toThrow(/ttlSeconds must be a number/);
    expect(() => optionsFromUrl(undefined as never)).toThrow(SessionValidationError);
  });

  it('registers the password (raw and decoded) and an AWS session token so they are masked everywhere', () => {
    optionsFromUrl('mongodb://app:Pa55%23word!@db.example/app?authSource=admin');
    expect(redactSecrets('said Pa55#word! and Pa55%23word!')).toBe('said *** and ***');
    optionsFromUrl('mongodb://app:raw/p@ss@db.example/app');
    expect(redactSecrets('x raw/p@ss y')).toBe('x *** y');
    optionsFromUrl(
      'mongodb://db.example/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:FwoGZXIvYXdzEXAMPLE',
    );
    expect(redactSecrets('token FwoGZXIvYXdzEXAMPLE')).toBe('token ***');
  });
});

describe('the descriptor', () => {
  it('names the package, its store, driver, schemes and test server, and imports no driver', async () => {
    expect(descriptor).toMatchObject({
      name: 'mongodb',
      packageName: '@sessions/mongo',
      storeExport: 'MongoSessionStore',
      driver: 'mongodb',
      schemes: ['mongodb', 'mongodb+srv'],
      testServer: { env: 'MONGODB_URL', service: 'mongodb' },
    });
    expect(descriptor.optionsFromUrl('mongodb://h/?database=x')).toEqual({ url: 'mongodb://h/', database: 'x' });
    expect(descriptor.optionsFromUrl(descriptor.testServer.storeUrl('mongodb://127.0.0.1:9/', 'run42'))).toEqual({
      url: 'mongodb://127.0.0.1:9/',
      database: 'run42',
    });
    for (const url of ['mongodb://h', 'MongoDB+SRV://cluster/app']) expect(backendMatches(descriptor, url)).toBe(true);
    for (const url of ['postgres://h', 'mongodb', 'file:mongodb.db'])
      expect(backendMatches(descriptor, url)).toBe(false);
    const { readFile } = await import('node:fs/promises');
    for (const file of ['descriptor.ts', 'url.ts']) {
      const source = await readFile(new URL(`../../src/${file}`, import.meta.url), 'utf8');
      expect(source, file).not.toMatch(/from 'mongodb'/);
      for (const [, specifier] of source.matchAll(/from '([^']+)'/g)) {
        expect(['@sessions/core', './url.js'], `${file} imports ${specifier}`).toContain(specifier);
      }
    }
  });
});
