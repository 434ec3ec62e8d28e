/**
 * Write planning: which rows and transaction actions a change needs, within DynamoDB's limits
 * (100 actions and 4 MB per `TransactWriteItems`, 25 requests per `BatchWriteItem`). Pure: the
 * requests are built here and sent by the caller.
 */
import type { AttributeValue, TransactWriteItem, WriteRequest } from '@aws-sdk/client-dynamodb';
import { MAX_METADATA_BYTES } from '@sessions/core';
import type { Deletion } from './chain.js';
import { budgetExpired } from './deadline.js';
import { expiryAt, freshGeneration, nextMeta, operationCutoff, operationExpiresAt } from './expiry.js';
import {
  A,
  isLive,
  itemRow,
  itemSk,
  type Layout,
  layoutItems,
  M,
  type Meta,
  type MetaState,
  metaRow,
  n,
  opSk,
  PARTITION_KEY,
  ROW_OVERHEAD,
  type RowSpec,
  rowKey,
  TTL_ATTRIBUTE,
} from './layout.js';
import { backoff, inParallel, MAX_THROTTLE_ATTEMPTS, sleep } from './retry.js';
import type { OperationRecord } from './verdict.js';

/** DynamoDB allows at most 100 actions in one `TransactWriteItems`. */
export const MAX_TRANSACTION_ACTIONS = 100;
/**
 * Budget for the items one transaction writes. DynamoDB refuses a payload over 4 MB
 * (4,194,304 bytes); rows are counted generously (text + key + {@link ROW_OVERHEAD}).
 */
export const MAX_TRANSACTION_BYTES = 4_000_000;
/** DynamoDB takes at most 25 requests in one `BatchWriteItem`. */
export const BATCH_WRITE_SIZE = 25;
/** `BatchWriteItem` requests in flight at once. */
export const PARALLEL_REQUESTS = 4;
/**
 * Upper bound of the metadata row's (and an operation-id row's) size: its numbers, the user's
 * metadata (at most 16 KiB) and the catalog keys (the session id twice, up to 512 bytes each).
 */
export const META_BYTES = 600 + MAX_METADATA_BYTES + 1_200;

/** One commit: the metadata row goes from `base` to `next`, with rows put and deleted. */
export interface TransactionPlan {
  /** The metadata the plan was computed from; the write is refused if it changed. */
  base: Meta | undefined;
  /** Also refuse if the base expired meanwhile (the plan relies on the history being live). */
  requireLive: boolean;
  next: MetaState;
  puts: RowSpec[];
  deletes: Deletion[];
  operation?: OperationRecord;
}

/** Whether `rows` (plus the metadata and any operation-id row) fit in one transaction. */
export function fitsInTransaction(rows: readonly RowSpec[], operation: OperationRecord | undefined): boolean {
  const fixed = operation ? 2 : 1;
  if (rows.length + fixed > MAX_TRANSACTION_ACTIONS) return false;
  let bytes = META_BYTES * fixed;
  for (const row of rows) bytes += row.bytes;
  return bytes <= MAX_TRANSACTION_BYTES;
}

/** A change of the history, as the write paths decide it. */
export interface WriteIntent {
  base: Meta | undefined;
  now: number;
  ttlSeconds: number | undefined;
  requireLive: boolean;
  generation: number;
  top: number;
  nextSeq: number;
  /** The newest row of the old history the write keeps (-1: none); it may need a new TTL. */
  kept: number;
  puts: RowSpec[];
  deletes?: Deletion[];
  operation?: OperationRecord;
  /** Whether the write adds rows (default: it puts some); staged rows were put beforehand. */
  writesRows?: boolean;
  /** Items on the chain after the write. */
  itemCount: number;
  /** New user metadata text ('' for none); absent: kept. */
  labels?: string;
}

export interface PlannedWrite {
  plan: TransactionPlan;
  /** Stamp the kept rows up to this sequence number with the new TTL before committing. */
  stampUpTo: number | undefined;
}

export function planWrite(intent: WriteIntent): PlannedWrite {
  const { base, now, kept } = intent;
  const { state, refresh } = nextMeta(
    base,
    now,
    {
      generation: intent.generation,
      top: intent.top,
      nextSeq: intent.nextSeq,
      kept,
      writesRows: intent.writesRows ?? intent.puts.length > 0,
      itemCount: intent.itemCount,
      ...(intent.labels !== undefined && { labels: intent.labels }),
    },
    intent.ttlSeconds,
  );
  return {
    plan: {
      base,
      requireLive: intent.requireLive,
      next: state,
      puts: intent.puts,
      deletes: intent.deletes ?? [],
      ...(intent.operation ? { operation: intent.operation } : {}),
    },
    stampUpTo: refresh ? kept : undefined,
  };
}

/**
 * The actions of one `TransactWriteItems`: the conditional metadata put first, the operation-id
 * put second (when there is one), then the new rows and the deletions. Deleted rows are off the
 * chain as soon as the metadata changes, so the deletions that do not fit the 100 actions or the
 * byte budget are returned as `overflow`, to be deleted right after the commit.
 */
export function transactionActions(
  plan: TransactionPlan,
  tableName: string,
  pk: string,
  now: number,
): { actions: TransactWriteItem[]; overflow: number[] } {
  const { base, next, operation } = plan;
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  let condition: string;
  if (base === undefined) {
    condition = 'attribute_not_exists(#pk)';
    names['#pk'] = PARTITION_KEY;
  } else {
    condition = '#v = :v';
    names['#v'] = M.version;
    values[':v'] = n(base.version);
    if (plan.requireLive && base.expiresAtMs !== undefined) {
      condition += ' AND #expMs > :now';
      names['#expMs'] = M.expiresAtMs;
      values[':now'] = n(now);
    }
  }
  const actions: TransactWriteItem[] = [
    {
      Put: {
        TableName: tableName,
        Item: metaRow(pk, next),
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
  ];
  let bytes = META_BYTES;
  if (operation) {
    actions.push({
      Put: {
        TableName: tableName,
        Item: {
          ...rowKey(pk, opSk(operation.id)),
          [A.fingerprint]: { S: operation.fingerprint },
          [A.recordedAt]: n(now),
          [A.generation]: n(next.generation),
          [TTL_ATTRIBUTE]: n(operationExpiresAt(now)),
        },
        // A new id, or one recorded in an older generation or before the retention window.
        ConditionExpression: 'attribute_not_exists(#pk) OR #g <> :g OR #at < :cutoff',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#g': A.generation, '#at': A.recordedAt },
        ExpressionAttributeValues: { ':g': n(next.generation), ':cutoff': n(operationCutoff(now)) },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
    bytes += META_BYTES;
  }
  for (const spec of plan.puts) {
    actions.push({ Put: { TableName: tableName, Item: itemRow(pk, next.generation, spec, next.expiresAt) } });
    bytes += spec.bytes;
  }
  const overflow: number[] = [];
  for (const deletion of plan.deletes) {
    if (actions.length < MAX_TRANSACTION_ACTIONS && bytes + deletion.bytes <= MAX_TRANSACTION_BYTES) {
      actions.push({ Delete: { TableName: tableName, Key: rowKey(pk, itemSk(deletion.seq)) } });
      bytes += deletion.bytes;
    } else overflow.push(deletion.seq);
  }
  return { actions, overflow };
}

/** `requests` in groups of at most {@link BATCH_WRITE_SIZE}. */
export function batchGroups<T>(requests: readonly T[]): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < requests.length; i += BATCH_WRITE_SIZE) groups.push(requests.slice(i, i + BATCH_WRITE_SIZE));
  return groups;
}

/** Attempts per group before unprocessed writes are reported. */
export const MAX_BATCH_ATTEMPTS = MAX_THROTTLE_ATTEMPTS * 2;

/**
 * Sends `requests` as `BatchWriteItem`s of 25, several in flight; `send` returns the group's
 * `UnprocessedItems`, which are sent again with backoff until none are left, or until the call's
 * deadline has passed (`expired`).
 */
export async function batchWriteAll(
  requests: readonly WriteRequest[],
  send: (batch: WriteRequest[]) => Promise<WriteRequest[]>,
  pause: (ms: number) => Promise<void> = sleep,
  expired: () => boolean = budgetExpired,
): Promise<void> {
  await inParallel(batchGroups(requests), PARALLEL_REQUESTS, async (group) => {
    let pending = group;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await pause(backoff(attempt, 20, 1000));
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`${pending.length} writes stayed unprocessed`);
      if (attempt > 0 && expired()) {
        throw Object.assign(new Error(`${pending.length} writes were unprocessed when the deadline passed`), {
          name: 'TimeoutError',
        });
      }
      pending = await send(pending);
    }
  });
}

/**
 * A write too large for one transaction, staged: its rows go to a range of sequence numbers
 * reserved beforehand, invisible until one transaction links them into the chain.
 */
export interface StagePlan {
  /** First reserved sequence number (the header row, when there is one). */
  start: number;
  /** Reserved sequence numbers: the rows, plus the header. */
  count: number;
  generation: number;
  layout: Layout;
  /** The DynamoDB TTL the staged rows carry. */
  rowExpiresAt: number | undefined;
}

/** Rows a staged write of `texts` reserves (plus a header row that links it, unless it replaces the whole history). */
export function stagedRowCount(texts: readonly string[], header: boolean, keyBytes: number): number {
  return layoutItems(texts, 0, -1, keyBytes).rows.length + (header ? 1 : 0);
}

/** Lays `texts` out in the range that ends at `reserved.nextSeq` (the metadata after the reservation). */
export function planStage(
  texts: readonly string[],
  count: number,
  header: boolean,
  reserved: Meta,
  options: { keyBytes: number; ttlSeconds: number | undefined; now: number },
): StagePlan {
  const { keyBytes, now } = options;
  const start = reserved.nextSeq - count;
  const generation = isLive(reserved, now) ? reserved.generation : freshGeneration(reserved, now);
  const layout = layoutItems(texts, header ? start + 1 : start, header ? start : -1, keyBytes);
  return { start, count, generation, layout, rowExpiresAt: expiryAt(options.ttlSeconds, now)?.rowExpiresAt };
}

/**
 * Whether staged rows can still be linked on top of `base`: the history is still the
 * generation they were written for and (unless they replace all of it) ends below them; or
 * the history expired or was cleared and the rows' generation is newer than the old one.
 */
export function linkable(
  base: Meta | undefined,
  stage: StagePlan,
  kept: number,
  wholeHistory: boolean,
  now: number,
): boolean {
  return isLive(base, now)
    ? base.generation === stage.generation && (wholeHistory || kept < stage.start)
    : stage.generation > (base?.generation ?? Number.NEGATIVE_INFINITY);
}

/** The header row that links a staged batch to the kept history. */
export function headerRow(stage: StagePlan, kept: number, keyBytes: number): RowSpec {
  return { seq: stage.start, prev: kept, bytes: keyBytes + ROW_OVERHEAD };
}
