import { validateName } from '@sessions/core';

/** Default prefix of the table names (`agent_sessions`, `agent_items`, ...). */
export const DEFAULT_TABLE_PREFIX = 'agent_';

/**
 * Backtick-quoted names of the four tables and their indexes. `tablePrefix` is checked by core's
 * `validateName` (letters, digits and `_` only, at most 48 characters) before it is quoted, so no
 * name can inject SQL; the longest name (`<prefix>schema_version`) stays within MySQL's 64.
 */
export interface Tables {
  prefix: string;
  sessions: string;
  items: string;
  operations: string;
  version: string;
  /** The catalog's listing order (see `ddl.ts`). */
  recentIndex: string;
  expiresIndex: string;
  operationsCreatedIndex: string;
}

export function tablesFor(tablePrefix: unknown): Tables {
  const p = validateName(tablePrefix === undefined ? DEFAULT_TABLE_PREFIX : tablePrefix, 'tablePrefix');
  const q = (suffix: string) => `\`${p}${suffix}\``;
  return {
    prefix: p,
    sessions: q('sessions'),
    items: q('items'),
    operations: q('operations'),
    version: q('schema_version'),
    recentIndex: q('sessions_recent'),
    expiresIndex: q('sessions_expires'),
    operationsCreatedIndex: q('operations_created'),
  };
}
