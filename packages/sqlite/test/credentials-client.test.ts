import { createClient } from '@libsql/client';
import { describeCredentialSafety } from '@sessions/core/testing';
import { SqliteSessionStore } from '../src/index.js';

// A caller's client: the store never sees its URL, so nothing registered the password as a
// secret (this file runs in a process of its own) and only core's URL patterns can mask it. The
// password is percent-encoded here because @libsql/client itself refuses some raw forms.
describeCredentialSafety("sqlite (a caller's client)", {
  createStore: (password) =>
    new SqliteSessionStore({ client: createClient({ url: `http://app:${encodeURIComponent(password)}@127.0.0.1:1` }) }),
});
