import { backendMatches, redactSecrets, SessionValidationError } from '@sessions/core';
import { HOSTILE_PASSWORDS } from '@sessions/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { descriptor } from '../src/descriptor.js';
import { optionsFromUrl } from '../src/url.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('optionsFromUrl (the CLI dynamodb:// form)', () => {
  it('reads credentials, host, table and every parameter', () => {
    expect(
      optionsFromUrl(
        'dynamodb://AKID:wJalr%2FK7+MDENG@localhost:8000/my_table?region=eu-west-1&tls=true&createTable=false&ttlSeconds=3600',
      ),
    ).toEqual({
      clientConfig: {
        region: 'eu-west-1',
        endpoint: 'https://localhost:8000',
        credentials: { accessKeyId: 'AKID', secretAccessKey: 'wJalr/K7+MDENG' },
      },
      tableName: 'my_table',
      createTable: false,
      ttlSeconds: 3600,
    });
  });

  it('`+` in credentials is literal (AWS secret keys contain it); percent-encoding is decoded', () => {
    const options = optionsFromUrl('dynamodb://AK%2BID:a+b%2Bc%40d@127.0.0.1:8000/t_1?region=us-east-1');
    expect(options.clientConfig).toMatchObject({ credentials: { accessKeyId: 'AK+ID', secretAccessKey: 'a+b+c@d' } });
  });

  it('a host is an http endpoint (https with tls=true); no host uses AWS for the region', () => {
    expect(optionsFromUrl('dynamodb://127.0.0.1:8000/sessions?region=us-east-1')).toEqual({
      clientConfig: { region: 'us-east-1', endpoint: 'http://127.0.0.1:8000' },
      tableName: 'sessions',
    });
    expect(optionsFromUrl('dynamodb:///sessions?region=eu-central-1&tls=true')).toEqual({
      clientConfig: { region: 'eu-central-1' },
      tableName: 'sessions',
    });
    expect(optionsFromUrl('DynamoDB://localhost:8000?region=us-east-1&tls=false')).toEqual({
      clientConfig: { region: 'us-east-1', endpoint: 'http://localhost:8000' },
    });
    expect(optionsFromUrl('dynamodb://localhost:8000/?region=us-east-1').tableName).toBeUndefined();
  });

  it('the region defaults to AWS_REGION, then AWS_DEFAULT_REGION', () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', 'ap-south-1');
    expect(optionsFromUrl('dynamodb:///t_1').clientConfig).toEqual({ region: 'ap-south-1' });
    vi.stubEnv('AWS_REGION', 'sa-east-1');
    expect(optionsFromUrl('dynamodb:///t_1').clientConfig).toEqual({ region: 'sa-east-1' });
    expect(optionsFromUrl('dynamodb:///t_1?region=us-west-2').clientConfig).toEqual({ region: 'us-west-2' });
  });

  it('refuses other parameters (masking their values), two path segments and bad values', () => {
    const error = (url: string) => {
      try {
        optionsFromUrl(url);
      } catch (e) {
        return e as Error;
      }
      throw new Error(`${url} was accepted`);
    };
    const unknown = error('dynamodb://localhost:8000/t_1?region=us-east-1&secret=hunter22&foo');
    expect(unknown).toBeInstanceOf(SessionValidationError);
    expect(unknown.message).toMatch(
      /^Unknown dynamodb:\/\/ parameters "secret=\S+&foo": only region, tls, createTable and ttlSeconds$/,
    );
    expect(unknown.message).not.toContain('hunter22');
    expect(error('dynamodb://localhost:8000/a/b').message).toMatch(/name one table/);
    expect(error('dynamodb://localhost:8000/t_1?ttlSeconds=soon').message).toMatch(/ttlSeconds must be a number/);
    expect(error('dynamodb://localhost:8000/t_1?createTable=maybe').message).toMatch(
      /createTable must be true or false/,
    );
    expect(error('dynamodb://localhost:8000/t_1?tls=sometimes').message).toMatch(/tls must be true or false/);
    expect(error('redis://localhost:6379')).toBeInstanceOf(SessionValidationError);
  });

  it('a raw (unencoded) secret parses whole, whatever it contains, and is masked from then on', () => {
    for (const password of HOSTILE_PASSWORDS) {
      const options = optionsFromUrl(`dynamodb://AKIDEXAMPLE:${password}@127.0.0.1:1/table?region=us-east-1`);
      expect(options).toMatchObject({
        clientConfig: {
          region: 'us-east-1',
          endpoint: 'http://127.0.0.1:1',
          credentials: { accessKeyId: 'AKIDEXAMPLE' },
        },
        tableName: 'table',
      });
      const secret = (options.clientConfig as { credentials: { secretAccessKey: string } }).credentials.secretAccessKey;
      expect(secret).toBe(password.includes('%') ? decodeURIComponent(password) : password);
      expect(redactSecrets(`the key is ${secret}.`)).not.toContain(secret);
      expect(redactSecrets(`the key is ${password}.`)).not.toContain(password);
    }
  });
});

describe('descriptor', () => {
  it('describes the backend without loading the AWS SDK', () => {
    expect(descriptor).toMatchObject({
      name: 'dynamodb',
      packageName: '@sessions/dynamodb',
      storeExport: 'DynamoDBSessionStore',
      driver: '@aws-sdk/client-dynamodb',
      schemes: ['dynamodb'],
      testServer: { env: 'DYNAMODB_ENDPOINT', service: 'dynamodb' },
    });
    expect(descriptor.optionsFromUrl).toBe(optionsFromUrl);
    expect(optionsFromUrl(descriptor.testServer.storeUrl('http://127.0.0.1:8123', 'run42'))).toMatchObject({
      tableName: 'run42_sessions',
      clientConfig: { endpoint: 'http://127.0.0.1:8123', region: 'us-east-1' },
    });
    expect(backendMatches(descriptor, 'dynamodb://localhost:8000/t')).toBe(true);
    expect(backendMatches(descriptor, 'DYNAMODB:///t')).toBe(true);
    expect(backendMatches(descriptor, 'redis://localhost')).toBe(false);
  });
});
