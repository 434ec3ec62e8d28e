import type { BackendDescriptor } from '@sessions/core';
import { optionsFromUrl } from './url.js';

/** What the rest of the project needs to know about this backend; loads no AWS SDK. */
export const descriptor: BackendDescriptor = {
  name: 'dynamodb',
  packageName: '@sessions/dynamodb',
  storeExport: 'DynamoDBSessionStore',
  driver: '@aws-sdk/client-dynamodb',
  schemes: ['dynamodb'],
  optionsFromUrl,
  testServer: {
    env: 'DYNAMODB_ENDPOINT',
    service: 'dynamodb',
    // The test server is DynamoDB Local (an http endpoint): any credentials, one table per run.
    storeUrl: (server, run) =>
      `dynamodb://local:local@${new URL(server ?? 'http://127.0.0.1:8000').host}/${run}_sessions?region=us-east-1`,
  },
};
