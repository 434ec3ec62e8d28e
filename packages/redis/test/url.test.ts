import { backendMatches, SessionValidationError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { descriptor } from '../src/descriptor.js';
import { RedisSessionStore } from '../src/index.js';
import { optionsFromUrl } from '../src/url.js';

// No server and no I/O: url.ts only parses.
describe('optionsFromUrl', () => {
  it('reads and removes ttlSeconds and keyPrefix, leaving everything else for node-redis', () => {
    expect(optionsFromUrl('redis://localhost:6379')).toEqual({ url: 'redis://localhost:6379' });
    expect(optionsFromUrl('redis://localhost:6379/2?ttlSeconds=86400&keyPrefix=chat')).toEqual({
      url: 'redis://localhost:6379/2',
      ttlSeconds: 86400,
      keyPrefix: 'chat',
    });
    expect(optionsFromUrl('rediss://user:pw@cache.example.com:6380/0?keyPrefix=app_1&foo=bar#x')).toEqual({
      url: 'rediss://user:pw@cache.example.com:6380/0?foo=bar#x',
      keyPrefix: 'app_1',
    });
    expect(optionsFromUrl('redis://h?ttlSeconds=0.5')).toEqual({ url: 'redis://h', ttlSeconds: 0.5 });
    // Query values are form-encoded; the rest of the URL is kept byte for byte.
    expect(optionsFromUrl('redis://:p%40ss@h/1?keyPrefix=a%5Fb')).toEqual({
      url: 'redis://:p%40ss@h/1',
      keyPrefix: 'a_b',
    });
  });

  it('a ttlSeconds that is not a number, or a URL that is not a string, is a SessionValidationError', () => {
    for (const bad of ['redis://h?ttlSeconds=abc', 'redis://h?ttlSeconds=', 'redis://h?ttlSeconds=Infinity']) {
      expect(() => optionsFromUrl(bad), bad).toThrow(SessionValidationError);
    }
    expect(() => optionsFromUrl('')).toThrow(SessionValidationError);
    expect(() => optionsFromUrl(42 as never)).toThrow(SessionValidationError);
  });

  it('builds a store that takes every option it returns (no I/O)', async () => {
    await using store = new RedisSessionStore(
      optionsFromUrl('redis://127.0.0.1:1?ttlSeconds=60&keyPrefix=chat') as ConstructorParameters<
        typeof RedisSessionStore
      >[0],
    );
    expect(store.toJSON()).toMatchObject({ keyPrefix: 'chat', ttlSeconds: 60 });
    expect(store.client.isOpen).toBe(false);
  });

  it('registers the password, however it is written, so errors mask it', () => {
    for (const password of ['Zq9-raw/pw#x?y', 'Zq9 spaced', 'Zq9@at:colon']) {
      optionsFromUrl(`redis://user:${password}@127.0.0.1:1/0`);
      const error = new SessionValidationError(`failed with ${password} and ${encodeURIComponent(password)}`);
      expect(error.message).not.toContain('Zq9');
    }
  });
});

describe('descriptor', () => {
  it('names the package, its store, its driver, its schemes and its test server', () => {
    expect(descriptor).toMatchObject({
      name: 'redis',
      packageName: '@sessions/redis',
      storeExport: 'RedisSessionStore',
      driver: 'redis',
      schemes: ['redis', 'rediss'],
      testServer: { env: 'REDIS_URL', service: 'redis' },
    });
    expect(descriptor.optionsFromUrl).toBe(optionsFromUrl);
    expect(optionsFromUrl(descriptor.testServer.storeUrl('redis://127.0.0.1:7000/1', 'run42'))).toEqual({
      url: 'redis://127.0.0.1:7000/1',
      keyPrefix: 'run42',
    });
    for (const url of ['redis://h', 'rediss://h:6380', 'REDIS://h'])
      expect(backendMatches(descriptor, url), url).toBe(true);
    for (const url of ['postgres://h', 'redis', 'http://h', 'memory:'])
      expect(backendMatches(descriptor, url), url).toBe(false);
  });
});
