import { readFile } from 'node:fs/promises';
import { backendMatches, redactSecrets, SessionValidationError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { descriptor } from '../src/descriptor.js';
import { optionsFromUrl } from '../src/url.js';

describe('optionsFromUrl (no server, no driver)', () => {
  it('reads and removes ttlSeconds, schema, tablePrefix and prepare; leaves the rest for the driver', () => {
    expect(
      optionsFromUrl(
        'postgres://app:pw@db.example:5432/app?sslmode=require&schema=chat&tablePrefix=t_&prepare=false&ttlSeconds=86400&application_name=a+b',
      ),
    ).toEqual({
      url: 'postgres://app:pw@db.example:5432/app?sslmode=require&application_name=a+b',
      schema: 'chat',
      tablePrefix: 't_',
      prepare: false,
      ttlSeconds: 86400,
    });
    expect(optionsFromUrl('postgres://app:pw@db/app?sslmode=require&schema=chat&ttlSeconds=86400')).toEqual({
      url: 'postgres://app:pw@db/app?sslmode=require',
      schema: 'chat',
      ttlSeconds: 86400,
    });
    expect(optionsFromUrl('postgresql://db/app?prepare=yes#x')).toEqual({
      url: 'postgresql://db/app#x',
      prepare: true,
    });
    expect(optionsFromUrl('postgres://db/app')).toEqual({ url: 'postgres://db/app' });
    expect(optionsFromUrl('postgres://db/app?schema=my%5Fschema')).toEqual({
      url: 'postgres://db/app',
      schema: 'my_schema',
    });
  });

  it('refuses values it cannot read', () => {
    expect(() => optionsFromUrl('postgres://db/app?prepare=maybe')).toThrow(SessionValidationError);
    expect(() => optionsFromUrl('postgres://db/app?ttlSeconds=soon')).toThrow(SessionValidationError);
    expect(() => optionsFromUrl('postgres://db/app?ttlSeconds=')).toThrow(SessionValidationError);
    expect(() => optionsFromUrl('' as string)).toThrow(SessionValidationError);
    expect(() => optionsFromUrl(undefined as never)).toThrow(SessionValidationError);
  });

  it('registers the password so that it is masked wherever it appears, even not percent-encoded', () => {
    optionsFromUrl('postgres://app:Zq9-url-pass@db/app');
    expect(redactSecrets('said Zq9-url-pass here')).toBe('said *** here');
    optionsFromUrl('postgres://app:Zq9/raw#pass?x@db/app');
    expect(redactSecrets('said Zq9/raw#pass?x here')).toBe('said *** here');
    optionsFromUrl('postgres://app:Zq9%20enc%40ded@db/app');
    expect(redactSecrets('said Zq9 enc@ded here')).toBe('said *** here');
  });
});

describe('descriptor', () => {
  it('describes the backend without loading the driver', () => {
    expect(descriptor).toMatchObject({
      name: 'postgres',
      packageName: '@sessions/postgres',
      storeExport: 'PostgresSessionStore',
      driver: 'postgres',
      schemes: ['postgres', 'postgresql'],
      testServer: { env: 'POSTGRES_URL', service: 'postgres' },
    });
    expect(descriptor.optionsFromUrl).toBe(optionsFromUrl);
    expect(optionsFromUrl(descriptor.testServer.storeUrl('postgres://u@127.0.0.1:9/db', 'run42'))).toEqual({
      url: 'postgres://u@127.0.0.1:9/db',
      tablePrefix: 'run42_',
    });
    expect(backendMatches(descriptor, 'postgres://db/app')).toBe(true);
    expect(backendMatches(descriptor, 'PostgreSQL://db/app')).toBe(true);
    expect(backendMatches(descriptor, 'mysql://db/app')).toBe(false);
    expect(backendMatches(descriptor, 'postgres')).toBe(false);
  });

  it('neither it nor url.ts imports the driver', async () => {
    for (const file of ['descriptor.ts', 'url.ts']) {
      const source = await readFile(new URL(`../src/${file}`, import.meta.url), 'utf8');
      expect(source).not.toMatch(/from '(postgres|\.\/(store|session|setup|errors|options)\.js)'/);
    }
  });

  it('the store export it names exists', async () => {
    const loaded = (await import('../src/index.js')) as Record<string, unknown>;
    expect(typeof loaded[descriptor.storeExport]).toBe('function');
  });
});
