import { describeCredentialSafety } from '@sessions/core/testing';
import { RedisSessionStore } from '../src/index.js';

// Port 1 on loopback is closed: every call fails with ECONNREFUSED. A store-created client
// would retry connecting until its command timeout (timeoutMs); without reconnects it fails at once.
const fast = { reconnectStrategy: false, connectTimeout: 500 } as const;

// The password raw (not percent-encoded) in the URL, as careless callers write it.
describeCredentialSafety('redis (password in the url)', {
  createStore: (password) =>
    new RedisSessionStore({ url: `redis://:${password}@127.0.0.1:1`, clientOptions: { socket: fast } }),
});

describeCredentialSafety('redis (user and password in the url)', {
  createStore: (password) =>
    new RedisSessionStore({ url: `redis://app:${password}@127.0.0.1:1/0`, clientOptions: { socket: fast } }),
});

describeCredentialSafety('redis (password in clientOptions)', {
  createStore: (password) =>
    new RedisSessionStore({ clientOptions: { password, socket: { host: '127.0.0.1', port: 1, ...fast } } }),
});

describeCredentialSafety('redis (password in clientOptions, failing setup)', {
  createStore: (password) =>
    new RedisSessionStore({ clientOptions: { password, socket: { host: '127.0.0.1', port: 1, ...fast } } }),
  failingCall: (store) => (store as RedisSessionStore).setup(),
});
