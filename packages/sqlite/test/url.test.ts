import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { backendMatches, redactSecrets, SessionValidationError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { descriptor } from '../src/descriptor.js';
import { matchesSqliteUrl, optionsFromUrl } from '../src/url.js';

describe('optionsFromUrl (no I/O, no driver)', () => {
  it('reads and removes ttlSeconds and tablePrefix; every other part of the URL stays as written', () => {
    expect(optionsFromUrl('file:chat.db?tablePrefix=app_&ttlSeconds=86400')).toEqual({
      url: 'file:chat.db',
      tablePrefix: 'app_',
      ttlSeconds: 86400,
    });
    expect(optionsFromUrl(':memory:')).toEqual({ url: ':memory:' });
    expect(optionsFromUrl('file:relative dir/chat.db')).toEqual({ url: 'file:relative dir/chat.db' });
    expect(optionsFromUrl('libsql://db-org.turso.io?tls=0&ttlSeconds=0.5&authToken=abc')).toEqual({
      url: 'libsql://db-org.turso.io?tls=0&authToken=abc',
      ttlSeconds: 0.5,
    });
    expect(optionsFromUrl('http://127.0.0.1:8080/?tablePrefix=a%5Fb_#x')).toEqual({
      url: 'http://127.0.0.1:8080/#x',
      tablePrefix: 'a_b_',
    });
  });

  it('refuses a ttlSeconds that is not a number, and a URL that is not a string', () => {
    expect(() => optionsFromUrl('file:x.db?ttlSeconds=soon')).toThrow(SessionValidationError);
    expect(() => optionsFromUrl('file:x.db?ttlSeconds=')).toThrow(SessionValidationError);
    expect(() => optionsFromUrl('' as string)).toThrow(SessionValidationError);
    expect(() => optionsFromUrl(undefined as never)).toThrow(SessionValidationError);
  });

  it('registers the password and the authToken it sees, so they are masked in any text', () => {
    optionsFromUrl('http://app:Pa55 w@rd-url@127.0.0.1:8080?authToken=tok-url-4321');
    expect(redactSecrets('said Pa55 w@rd-url and Pa55%20w%40rd-url, then tok-url-4321')).toBe(
      'said *** and ***, then ***',
    );
  });
});

describe('descriptor', () => {
  it('names the package, its driver, its schemes and its test server', () => {
    expect(descriptor).toMatchObject({
      name: 'sqlite',
      packageName: '@sessions/sqlite',
      storeExport: 'SqliteSessionStore',
      driver: '@libsql/client',
      schemes: ['file', 'libsql', 'http', 'https', 'ws', 'wss'],
      testServer: { env: 'SQLITE_URL', service: 'none' },
    });
    expect(descriptor.optionsFromUrl('file:x.db?ttlSeconds=1')).toEqual({ url: 'file:x.db', ttlSeconds: 1 });
    expect(descriptor.optionsFromUrl(descriptor.testServer.storeUrl(undefined, 'run42'))).toEqual({
      url: ':memory:',
      tablePrefix: 'run42_',
    });
  });

  it("matches its schemes (any case) and ':memory:', nothing else", () => {
    for (const url of [
      ':memory:',
      'file:x.db',
      'FILE:///x.db',
      'file::memory:',
      'libsql://h',
      'https://h',
      'ws://h',
      'WSS://h',
    ]) {
      expect(backendMatches(descriptor, url), url).toBe(true);
    }
    for (const url of ['memory:', 'memory:x', 'conversations.db', 'postgres://h', 'redis://h', ':memory', '']) {
      expect(backendMatches(descriptor, url), url).toBe(false);
    }
  });

  it('loads no driver: descriptor.ts and what it imports reach only @sessions/core', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(fileURLToPath(new URL(`../src/${file}`, import.meta.url)), 'utf8');
      for (const [, specifier] of text.matchAll(/^(?:import|export)[^;]*?from '([^']+)'/gms)) {
        if (specifier!.startsWith('./')) visit(specifier!.slice(2).replace(/\.js$/, '.ts'));
        else expect(specifier, `${file} imports ${specifier}`).toBe('@sessions/core');
      }
    };
    visit('descriptor.ts');
    expect([...seen].sort()).toEqual(['descriptor.ts', 'url.ts']);
  });
});

describe('matching URLs with our parameters', () => {
  it("':memory:' followed by our own parameters is still SQLite", () => {
    expect(matchesSqliteUrl(':memory:?tablePrefix=t_&ttlSeconds=5')).toBe(true);
    expect(matchesSqliteUrl(':memory:?mode=ro')).toBe(false);
  });
});
