export type { DynamoDBNamespaceOptions, DynamoDBSessionOptions, DynamoDBSessionStoreOptions } from './options.js';
export { DynamoDBSession } from './session.js';
export { DynamoDBSessionStore } from './store.js';
