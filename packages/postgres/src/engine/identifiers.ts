import { validateName } from '@sessions/core';

/** Default PostgreSQL schema of the tables. */
export const DEFAULT_SCHEMA = 'public';
/** Default prefix of the table names (`agent_sessions`, `agent_items`, ...). */
export const DEFAULT_TABLE_PREFIX = 'agent_';

/**
 * Quoted, schema-qualified names of the four tables. `schema` and `tablePrefix` are checked by
 * core's `validateName` (letters, digits and `_` only, at most 48 characters) before they are
 * quoted, so no name can inject SQL; the longest table name (`<prefix>schema_version`) stays
 * within PostgreSQL's 63-byte identifier limit.
 */
export interface Tables {
  schema: string;
  prefix: string;
  /** `"schema"` */
  qschema: string;
  sessions: string;
  items: string;
  operations: string;
  version: string;
  /** Unqualified index names (an index lives in its table's schema). */
  sessionsExpiresIndex: string;
  /** The listing order of the catalog (`<prefix>sessions_recent`, ≤ 63 bytes with a 48-byte prefix). */
  sessionsRecentIndex: string;
  operationsCreatedIndex: string;
  /** Identifies the namespace, e.g. for memoising the setup. */
  key: string;
}

export function tablesFor(schema: unknown, tablePrefix: unknown): Tables {
  const s = validateName(schema === undefined ? DEFAULT_SCHEMA : schema, 'schema');
  const p = validateName(tablePrefix === undefined ? DEFAULT_TABLE_PREFIX : tablePrefix, 'tablePrefix');
  const q = (name: string) => `"${name}"`;
  const table = (suffix: string) => `${q(s)}.${q(p + suffix)}`;
  return {
    schema: s,
    prefix: p,
    qschema: q(s),
    sessions: table('sessions'),
    items: table('items'),
    operations: table('operations'),
    version: table('schema_version'),
    sessionsExpiresIndex: q(`${p}sessions_expires`),
    sessionsRecentIndex: q(`${p}sessions_recent`),
    operationsCreatedIndex: q(`${p}operations_created`),
    key: `${s}\u0000${p}`,
  };
}
