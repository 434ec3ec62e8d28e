import { CLOCK, CLOCK_CTE, split } from './fragments.js';
import type { Tables } from './identifiers.js';

/**
 * A history transaction, with the row locked and `$5` numbers reserved (by `reserve`). Decides
 * in SQL and returns one row `{ verdict }` holding one of core's `TransactionVerdict` strings:
 * a known operation id (same epoch, within retention) is `replayed` (same fingerprint) or
 * `operation_id_reused`; else the live history must end with exactly `$4` (text equality of
 * canonical JSON) for `applied`, or it is `suffix_mismatch`. Only when the verdict is `applied`
 * does it delete that suffix, record the id, drop stale ids and insert the first chunk `$7` of
 * the replacement; the caller rolls back on any other verdict.
 * `$1` id, `$2` operation id, `$3` fingerprint, `$4` joined expected suffix, `$5` replacement
 * length, `$6` retention seconds, `$7` joined first replacement chunk, `$8` suffix length.
 */
export function transactionStatement(t: Tables): string {
  return `WITH ${CLOCK_CTE},
s AS (SELECT start_seq, next_seq - $5::bigint AS base FROM ${t.sessions} WHERE session_id = $1::text),
known AS (
  SELECT o.fingerprint FROM ${t.operations} o, s
  WHERE o.session_id = $1::text AND o.operation_id = $2::text AND o.epoch = s.start_seq
    AND o.created_at > ${CLOCK} - make_interval(secs => $6::float8)
),
tail AS (
  SELECT seq, item FROM ${t.items}
  WHERE session_id = $1::text AND seq >= (SELECT start_seq FROM s) AND seq < (SELECT base FROM s)
  ORDER BY seq DESC
  LIMIT $8::bigint
),
verdict AS (
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM known) THEN
      CASE WHEN (SELECT fingerprint FROM known) = $3::text THEN 'replayed' ELSE 'operation_id_reused' END
    WHEN (SELECT count(*) FROM tail) = $8::bigint
      AND coalesce((SELECT array_agg(item ORDER BY seq) FROM tail), '{}'::text[]) = string_to_array($4::text, chr(1))
      THEN 'applied'
    ELSE 'suffix_mismatch'
  END AS verdict
),
gone AS (
  DELETE FROM ${t.items}
  WHERE session_id = $1::text AND (SELECT verdict FROM verdict) = 'applied'
    AND (seq IN (SELECT seq FROM tail) OR seq < (SELECT start_seq FROM s))
),
recorded AS (
  INSERT INTO ${t.operations} (session_id, operation_id, fingerprint, epoch, created_at)
  SELECT $1::text, $2::text, $3::text, s.start_seq, ${CLOCK} FROM s WHERE (SELECT verdict FROM verdict) = 'applied'
  ON CONFLICT (session_id, operation_id) DO UPDATE
  SET fingerprint = excluded.fingerprint, epoch = excluded.epoch, created_at = excluded.created_at
),
stale AS (
  DELETE FROM ${t.operations} o
  WHERE o.session_id = $1::text AND o.operation_id <> $2::text AND (SELECT verdict FROM verdict) = 'applied'
    AND (o.epoch < (SELECT start_seq FROM s) OR o.created_at <= ${CLOCK} - make_interval(secs => $6::float8))
),
inserted AS (
  INSERT INTO ${t.items} (session_id, seq, item)
  SELECT $1::text, s.base + b.ord - 1, b.item
  FROM s, ${split('$7')}
  WHERE (SELECT verdict FROM verdict) = 'applied'
)
SELECT verdict AS verdict FROM verdict`;
}
