import { catalogStatements } from './catalog.js';
import type { Tables } from './identifiers.js';
import { maintenanceStatements } from './statements-maintenance.js';
import { readStatements } from './statements-read.js';
import { transactionStatement } from './statements-transaction.js';
import { writeStatements } from './statements-write.js';

/**
 * Every statement of a namespace. Parameters are always cast in the SQL, so the driver never
 * has to guess a type, and results use one-word lower-case column names, so a caller's client
 * with column transforms (e.g. `postgres.camel`) reads them alike.
 */
export function buildQueries(t: Tables) {
  return {
    ...readStatements(t),
    ...writeStatements(t),
    transaction: transactionStatement(t),
    ...maintenanceStatements(t),
    ...catalogStatements(t),
  };
}

export type Queries = ReturnType<typeof buildQueries>;

const cache = new Map<string, Queries>();

/** The statements of a namespace, built once. */
export function queriesFor(t: Tables): Queries {
  let queries = cache.get(t.key);
  if (!queries) {
    queries = buildQueries(t);
    cache.set(t.key, queries);
  }
  return queries;
}
