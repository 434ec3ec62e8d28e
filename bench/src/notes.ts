/**
 * Why a target is missed, where the cause is known from reading the code and the measurements.
 * Keys: `<backend>:<target>`, `<backend>:overhead:<op>` or `<backend>:peer:<op>`, with `*` for
 * any backend. The numbers in the report are measured; these sentences only name the cause, and
 * are shown only next to a target the run actually missed.
 */
const ENCODE =
  'every item is validated and encoded as canonical JSON (sorted keys, walked in JavaScript) where the baseline calls JSON.stringify';

const NOTES: Record<string, string> = {
  // getItems(20) on a long history against a short one
  'memory:flat-limit-read':
    'the slice is O(limit), but on the 10-item history getItems(20) returns 10 items and on the long one 20: twice the decoding into fresh objects; the difference is a few microseconds',
  'sqlite:flat-limit-read':
    'the 10-item history returns 10 rows, the long one 20 (twice the rows to step through and decode); the index walk itself does not grow with the history',
  'mongo:flat-limit-read':
    'FerretDB 1.x, the MongoDB-protocol server available here, does not use the (sessionId, rev) index: every find scans and decodes the whole collection, so the newest-20 read costs as much as reading everything (the raw baseline and LangChain scale the same way on this server). On MongoDB proper the same query is an index walk of one or two documents; that was not measurable here',
  'dynamodb:flat-limit-read':
    'one Query with Limit 21 either way (the round trips do not change); the time DynamoDB Local, a Java emulator on SQLite, takes to answer it is what differs between a small and a large partition',
  // overhead over the raw driver
  '*:overhead:add1': ENCODE,
  '*:overhead:add10': ENCODE,
  'sqlite:overhead:add1':
    'each write is one BEGIN IMMEDIATE batch of four statements (purge this session if expired, sweep two other expired sessions, reserve the sequence range on the session row, insert) where the baseline runs one autocommitted INSERT',
  'sqlite:overhead:add10':
    'each write is one BEGIN IMMEDIATE batch of four statements (purge this session if expired, sweep two other expired sessions, reserve the sequence range on the session row, insert) where the baseline runs one autocommitted INSERT',
  'sqlite:overhead:pop':
    'the pop is a BEGIN IMMEDIATE batch of four statements (two expiry purges, the DELETE … RETURNING, the expiry slide) where the baseline runs the DELETE … RETURNING alone',
  'redis:overhead:add1':
    'the append is an EVALSHA of a Lua script that also re-applies the sliding TTL to the session’s keys (PERSIST when there is none) and, since the catalog, writes the entry hash and moves the session in the sorted index, where the baseline sends a bare RPUSH; plus canonical JSON encoding',
  'redis:overhead:add10':
    'the append is an EVALSHA of a Lua script that also re-applies the sliding TTL to the session’s keys (PERSIST when there is none) and, since the catalog, writes the entry hash and moves the session in the sorted index, where the baseline sends a bare RPUSH; plus canonical JSON encoding',
  'redis:overhead:pop':
    'the pop is an EVALSHA of a Lua script (RPOP, the TTL on the session’s keys and, since the catalog, its entry and index position) where the baseline sends a bare RPOP',
  'postgres:overhead:add1':
    'the one append statement also handles expiry (a CASE on the session row and two DELETE branches for a history that has just been reset) and the items go through canonical JSON and a text[] literal; the baseline’s statement only reserves and inserts',
  'postgres:overhead:add10':
    'the one append statement also handles expiry (a CASE on the session row and two DELETE branches for a history that has just been reset) and the items go through canonical JSON and a text[] literal; the baseline’s statement only reserves and inserts',
  'postgres:overhead:pop':
    'popItem runs a transaction (BEGIN; row lock and DELETE pipelined; COMMIT): three round trips where one DELETE … RETURNING does the job',
  'mongo:overhead:add1':
    'the commit is written with a guarded upsert (updateOne filtered on rev ≥ the new rev, so a freed rev can never be taken again), which FerretDB answers with a second collection scan, where the baseline’s plain insertOne needs none; since the catalog, the session’s copy in the listing collection is upserted after the commit (the third round trip)',
  'mongo:overhead:add10':
    'the commit is written with a guarded upsert (updateOne filtered on rev ≥ the new rev, so a freed rev can never be taken again), which FerretDB answers with a second collection scan, where the baseline’s plain insertOne needs none; since the catalog, the session’s copy in the listing collection is upserted after the commit (the third round trip)',
  'mongo:overhead:pop':
    'pops are insert-only (no multi-document transactions needed): read the newest commits, insert a new commit without the popped item, then delete the superseded one; each of those is a collection scan on FerretDB, where the baseline’s single findOneAndUpdate $pop mutates in place',
  'mongo:overhead:getLast20':
    'the chain is checked link by link (prev/rev, tombstones) while the baseline trusts the documents; same single query',
  'dynamodb:overhead:getLast20':
    'same single Query; ours also returns the metadata row and checks the chain links and generation of every row',
  'dynamodb:overhead:getAll':
    'same Query pages; ours also reads the metadata row and checks the chain links and generation of every row',
  // against peers
  'redis:peer:add1':
    'LangChain sends one bare LPUSH (no validation, no TTL script); for more than one message it sends one LPUSH per message',
  'redis:peer:getAll': 'both are one LRANGE of the whole list; at 10 items the difference is within the noise',
  'postgres:peer:add1':
    'LangChain sends one plain INSERT ordered by a SERIAL id (no per-session sequence, so concurrent batches interleave); ours reserves a contiguous range on the session row in the same statement',
  'mongo:peer:add1':
    'LangChain does one $push upsert into a single per-session document (one round trip, no read first): fast, but the whole conversation is one document (16 MB cap) and concurrent first writes lose messages on this server (see the concurrency table)',
  'dynamodb:peer:getAll':
    'LangChain reads the whole conversation as one item with one GetItem; ours pages a Query over one row per item, which is what lets it go past the 400 KB item limit that LangChain hits',
  // the session catalog: a page on the large store against the same page on the small one
  'mongo:catalog':
    'FerretDB 1.x does not use indexes: the page query on the listing collection (`{ at: -1, _id: 1 }` on MongoDB) and the query for the candidates’ heads each scan and decode their whole collection, so a page costs in proportion to the store; the round trips stay the same at both sizes. On MongoDB proper both are index walks; that was not measurable here',
  'postgres:catalog':
    'not the query: EXPLAIN (ANALYZE, BUFFERS) on a store of 100,000 sessions shows the same plan for the first page and for page 20, custom and generic alike — one Index Scan of the listing index (updated_at DESC, session_id) that stops after 52 entries, 47–52 shared buffers, 0.3–0.6 ms of execution; the p50s here are 1–2.5 ms with p99s above 20 ms at both sizes, i.e. the loaded machine (load average 10–18 on 2 cores during the run)',
  'mongo:catalog:filtered':
    'as for the first page (FerretDB scans whole collections), and the small store holds only 10 labelled sessions, so its page returns 10 where the large one returns 50',
  'dynamodb:catalog':
    'the same 16 parallel Query calls (one per shard of the sparse catalog index) at both sizes; the time is DynamoDB Local’s (a Java emulator on SQLite), which answers a GSI Query more slowly as the index grows',
  'dynamodb:catalog:filtered':
    'a filtered page reads a bounded window of the 16 shards (at most 4 rounds of parallel Query calls) and returns what matched in it (fewer than 50 when the label is rare, with a cursor to go on); DynamoDB Local answers a GSI Query more slowly as the index grows',
  // the session catalog: addItems(1) against the previous release of the same package
  'memory:catalog:write':
    'each write also moves the session in the sorted catalog index (a binary search and a splice) and updates its count and dates; a few microseconds on a call of a few microseconds',
  'sqlite:catalog:write':
    'the batch also sets item_count and updated_at on the session row, which moves its entry in the listing index (updated_at DESC, session_id, expires_at)',
  'postgres:catalog:write':
    'the one statement also sets item_count and updated_at on the session row, which moves its entry in the listing index (updated_at DESC, session_id)',
  'redis:catalog:write':
    'the same one EVALSHA, whose script now also writes the entry hash and moves the session in the sorted index (ZREM + ZADD)',
  'mongo:catalog:write':
    'after the commit, the session’s copy in the listing collection is upserted (a round trip of its own), and on FerretDB that is one more collection scan',
  'dynamodb:catalog:write':
    'the same one TransactWriteItems, but the metadata row now carries the count, labels and the keys of the sparse catalog index, so every write also writes an index entry (DynamoDB Local updates the GSI inside the transaction)',
};

export function explain(backend: string, key: string): string | undefined {
  return NOTES[`${backend}:${key}`] ?? NOTES[`*:${key}`];
}
