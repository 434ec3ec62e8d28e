export { DynamoDBSession, type DynamoDBSessionOptions } from './session.js';
export { DynamoDBSessionStore, type DynamoDBSessionStoreOptions } from './store.js';
