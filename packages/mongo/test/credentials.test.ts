import { describeCredentialSafety } from '@sessions/core/testing';
import { MongoSessionStore } from '../src/index.js';

// Every store points at a closed port: the failing call is a quick SessionConnectionError
// (server selection gives up after 300 ms), and no server is needed.
const clientOptions = { serverSelectionTimeoutMS: 300 };

// The password raw in the URL, as a user might paste it. The driver refuses some of these URLs
// when the store is built (`@`, `:`, `/` unescaped): then the constructor's error must not
// show the password either.
describeCredentialSafety('mongodb (raw password in the url)', {
  createStore: (password) => new MongoSessionStore({ url: `mongodb://app:${password}@127.0.0.1:1/db`, clientOptions }),
});

// Percent-encoded, every URL is valid, so every password reaches the failing call.
describeCredentialSafety('mongodb (percent-encoded password in the url)', {
  createStore: (password) =>
    new MongoSessionStore({ url: `mongodb://app:${encodeURIComponent(password)}@127.0.0.1:1/db`, clientOptions }),
});

describeCredentialSafety('mongodb (password in clientOptions.auth)', {
  createStore: (password) =>
    new MongoSessionStore({
      url: 'mongodb://127.0.0.1:1/db',
      clientOptions: { ...clientOptions, auth: { username: 'app', password } },
    }),
});
