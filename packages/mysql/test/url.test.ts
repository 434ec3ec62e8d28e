import { readFile } from 'node:fs/promises';
import { backendMatches, redactSecrets, SessionValidationError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { descriptor } from '../src/descriptor.js';
import { MySQLSessionStore } from '../src/index.js';
import { optionsFromUrl } from '../src/url.js';

describe('optionsFromUrl (no server, no driver)', () => {
  it('reads and removes ttlSeconds and tablePrefix; leaves the rest for the driver; mariadb: becomes mysql:', () => {
    expect(optionsFromUrl('mysql://app:pw@db.example:3306/app?ssl=%7B%7D&tablePrefix=t_&ttlSeconds=86400')).toEqual({
      url: 'mysql://app:pw@db.example:3306/app?ssl=%7B%7D',
      tablePrefix: 't_',
      ttlSeconds: 86400,
    });
    expect(optionsFromUrl('mariadb://db/app?tablePrefix=chat_')).toEqual({
      url: 'mysql://db/app',
      tablePrefix: 'chat_',
    });
    expect(optionsFromUrl('mysql://db/app')).toEqual({ url: 'mysql://db/app' });
  });

  it('refuses values it cannot read', () => {
    expect(() => optionsFromUrl('mysql://db/app?ttlSeconds=soon')).toThrow(SessionValidationError);
    expect(() => optionsFromUrl('' as string)).toThrow(SessionValidationError);
  });

  it('registers the password so that it is masked wherever it appears', () => {
    optionsFromUrl('mysql://app:Zq9-my-pass@db/app');
    expect(redactSecrets('said Zq9-my-pass here')).toBe('said *** here');
  });
});

describe('descriptor', () => {
  it('describes the backend without loading the driver', () => {
    expect(descriptor).toMatchObject({
      name: 'mysql',
      packageName: '@sessions/mysql',
      storeExport: 'MySQLSessionStore',
      driver: 'mysql2',
      schemes: ['mysql', 'mariadb'],
      testServer: { env: 'MYSQL_URL', service: 'mysql' },
    });
    expect(optionsFromUrl(descriptor.testServer.storeUrl('mysql://u@127.0.0.1:9/db', 'run42'))).toEqual({
      url: 'mysql://u@127.0.0.1:9/db',
      tablePrefix: 'run42_',
    });
    expect(backendMatches(descriptor, 'MariaDB://db/app')).toBe(true);
    expect(backendMatches(descriptor, 'postgres://db/app')).toBe(false);
  });

  it('neither it nor url.ts imports the driver', async () => {
    for (const file of ['descriptor.ts', 'url.ts']) {
      const source = await readFile(new URL(`../src/${file}`, import.meta.url), 'utf8');
      expect(source).not.toMatch(/from '(mysql2[^']*|\.\/(store|session|setup|errors|options)\.js)'/);
    }
  });

  it('the store export it names exists', async () => {
    const loaded = (await import('../src/index.js')) as Record<string, unknown>;
    expect(typeof loaded[descriptor.storeExport]).toBe('function');
  });
});

describe('the options guard (no server)', () => {
  it('null, a typo and unknown keys are refused by name before anything else', () => {
    expect(() => new MySQLSessionStore(null as never)).toThrow(SessionValidationError);
    expect(() => new MySQLSessionStore({ tablPrefix: 'x' } as never)).toThrow(/tablePrefix/);
    expect(() => new MySQLSessionStore({ url: 'mysql://db/app', database: 'x' } as never)).toThrow(
      SessionValidationError,
    );
  });

  it('a URL the driver cannot parse is refused when the store is built, masked', () => {
    const error = (() => {
      try {
        new MySQLSessionStore({ url: 'mysql://app:Zq9/raw@db:notaport/app' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SessionValidationError);
  });
});
