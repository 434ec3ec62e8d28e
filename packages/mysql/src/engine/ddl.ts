import type { Tables } from './identifiers.js';

/** The layout version this package writes and understands. */
export const SCHEMA_VERSION = 1;

/** Largest session id in UTF-8 bytes (core's limit): the key columns are VARBINARY of it. */
const ID_BYTES = 512;

/**
 * The tables, idempotent (`IF NOT EXISTS`), in order. Choices that matter:
 * - ids are `VARBINARY`: compared byte for byte (every `utf8mb4` collation pads trailing spaces or
 *   folds case, so `'a'` and `'a '` would be one session), and sorted in UTF-8 byte order;
 * - items are `LONGTEXT` in `utf8mb4_bin`, never the `JSON` type, which reorders keys and
 *   normalises numbers: what was written is what is read, byte for byte;
 * - times are BIGINT milliseconds since the epoch (UTC, no time zone setting involved), so the
 *   catalog's order and cursors are exact;
 * - `recency` is `-updated_at`: one ascending index on (recency, session_id) walks the listing
 *   order (newest first, then id) forwards on MariaDB too, whose 10.6 ignores `DESC` in indexes;
 * - no foreign keys (Vitess and PlanetScale refuse them) and no triggers or routines.
 */
export function schemaStatements(t: Tables): string[] {
  const options = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
  return [
    `CREATE TABLE IF NOT EXISTS ${t.sessions} (
  session_id       VARBINARY(${ID_BYTES}) NOT NULL,
  start_seq        BIGINT NOT NULL DEFAULT 0,
  next_seq         BIGINT NOT NULL DEFAULT 0,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  expires_at       BIGINT NULL,
  item_count       BIGINT NOT NULL DEFAULT 0,
  metadata         TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  metadata_version INT NOT NULL DEFAULT 0,
  recency          BIGINT AS (-updated_at) STORED,
  PRIMARY KEY (session_id),
  KEY ${t.recentIndex} (recency, session_id),
  KEY ${t.expiresIndex} (expires_at)
) ${options}`,
    `CREATE TABLE IF NOT EXISTS ${t.items} (
  session_id VARBINARY(${ID_BYTES}) NOT NULL,
  seq        BIGINT NOT NULL,
  item       LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (session_id, seq)
) ${options}`,
    `CREATE TABLE IF NOT EXISTS ${t.operations} (
  session_id   VARBINARY(${ID_BYTES}) NOT NULL,
  operation_id VARBINARY(1024) NOT NULL,
  fingerprint  VARBINARY(255) NOT NULL,
  epoch        BIGINT NOT NULL,
  created_at   BIGINT NOT NULL,
  PRIMARY KEY (session_id, operation_id),
  KEY ${t.operationsCreatedIndex} (created_at)
) ${options}`,
    `CREATE TABLE IF NOT EXISTS ${t.version} (
  id         TINYINT NOT NULL,
  version    INT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (id)
) ${options}`,
  ];
}

/** The whole DDL as one script, for teams that manage their schema themselves. */
export function schemaScript(t: Tables): string {
  return `${[
    ...schemaStatements(t),
    `INSERT INTO ${t.version} (id, version, updated_at) VALUES (1, ${SCHEMA_VERSION}, 0)
  ON DUPLICATE KEY UPDATE version = ${SCHEMA_VERSION}`,
  ].join(';\n\n')};\n`;
}
