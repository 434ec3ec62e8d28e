import { describeCredentialSafety } from '@sessions/core/testing';
import { DynamoDBSessionStore } from '../src/index.js';

// Port 1 on 127.0.0.1 is closed: every request fails at once with ECONNREFUSED. The password is
// put in the URL raw (not percent-encoded), as a user might paste it.
describeCredentialSafety('dynamodb (url)', {
  createStore: (password) =>
    new DynamoDBSessionStore({ url: `dynamodb://AKIDEXAMPLE:${password}@127.0.0.1:1/table?region=us-east-1` }),
});

describeCredentialSafety('dynamodb (clientConfig)', {
  createStore: (password) =>
    new DynamoDBSessionStore({
      clientConfig: {
        endpoint: 'http://127.0.0.1:1',
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKID', secretAccessKey: password },
        maxAttempts: 1,
        // The SDK has no request timeout by default: the failing call must end quickly.
        requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
      },
    }),
});
