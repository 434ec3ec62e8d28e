/**
 * The conditional updates of a session's metadata row (clear, delete, catalog upgrade), as pure
 * builders: `SessionRequests` sends them and reads the row after them.
 */
import type { AttributeValue, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { expiryAt, ROW_TTL_SLACK_SECONDS } from './expiry.js';
import { catalogKeys, M, type Meta, n, TTL_ATTRIBUTE } from './layout.js';

/** The parts of an `UpdateItem` of the metadata row that differ between the updates below. */
export type MetaUpdate = Pick<
  UpdateItemCommandInput,
  'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
>;

/** See `SessionRequests.clearMeta`. */
export function clearUpdate(sessionId: string, now: number, ttlSeconds: number | undefined): MetaUpdate {
  const expiry = expiryAt(ttlSeconds, now);
  const names: Record<string, string> = {
    '#top': M.top,
    '#updated': M.updatedAt,
    '#g': M.generation,
    '#v': M.version,
    '#count': M.itemCount,
    '#shard': M.catalogShard,
    '#key': M.catalogKey,
    '#expMs': M.expiresAtMs,
    '#rowsExp': M.rowsExpireAt,
    '#ttl': TTL_ATTRIBUTE,
  };
  const keys = catalogKeys(sessionId, now);
  const values: Record<string, AttributeValue> = {
    ':none': n(-1),
    ':now': n(now),
    ':one': n(1),
    ':zero': n(0),
    ':shard': keys[M.catalogShard] as AttributeValue,
    ':key': keys[M.catalogKey] as AttributeValue,
  };
  let set = '#top = :none, #updated = :now, #g = #g + :one, #count = :zero, #shard = :shard, #key = :key';
  let remove = '#rowsExp';
  if (expiry) {
    set += ', #expMs = :expMs, #ttl = :ttl';
    values[':expMs'] = n(expiry.expiresAtMs);
    values[':ttl'] = n(expiry.rowExpiresAt);
  } else remove += ', #expMs, #ttl';
  return {
    UpdateExpression: `SET ${set} ADD #v :one REMOVE ${remove}`,
    ConditionExpression: 'attribute_exists(#g) AND (attribute_not_exists(#expMs) OR #expMs > :now)',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** See `SessionRequests.tombstoneMeta`. */
export function tombstoneUpdate(now: number): MetaUpdate {
  return {
    UpdateExpression:
      'SET #top = :none, #g = #g + :one, #expMs = :zero, #ttl = :ttl, #updated = :now ADD #v :one ' +
      'REMOVE #labels, #labelsV, #count, #shard, #key, #rowsExp',
    ConditionExpression: 'attribute_exists(#g)',
    ExpressionAttributeNames: {
      '#top': M.top,
      '#g': M.generation,
      '#expMs': M.expiresAtMs,
      '#ttl': TTL_ATTRIBUTE,
      '#updated': M.updatedAt,
      '#v': M.version,
      '#labels': M.labels,
      '#labelsV': M.labelsVersion,
      '#count': M.itemCount,
      '#shard': M.catalogShard,
      '#key': M.catalogKey,
      '#rowsExp': M.rowsExpireAt,
    },
    ExpressionAttributeValues: {
      ':none': n(-1),
      ':one': n(1),
      ':zero': n(0),
      ':now': n(now),
      ':ttl': n(Math.ceil(now / 1000) + ROW_TTL_SLACK_SECONDS),
    },
  };
}

/** See `SessionRequests.upgradeMeta`. */
export function upgradeUpdate(sessionId: string, meta: Meta, itemCount: number): MetaUpdate {
  const at = meta.updatedAt ?? meta.createdAt ?? Date.now();
  const keys = catalogKeys(sessionId, at);
  return {
    UpdateExpression:
      'SET #count = :count, #shard = :shard, #key = :key, #created = if_not_exists(#created, :at), ' +
      '#updated = if_not_exists(#updated, :at)',
    ConditionExpression: '#v = :v AND attribute_not_exists(#count)',
    ExpressionAttributeNames: {
      '#count': M.itemCount,
      '#shard': M.catalogShard,
      '#key': M.catalogKey,
      '#created': M.createdAt,
      '#updated': M.updatedAt,
      '#v': M.version,
    },
    ExpressionAttributeValues: {
      ':count': n(itemCount),
      ':shard': keys[M.catalogShard] as AttributeValue,
      ':key': keys[M.catalogKey] as AttributeValue,
      ':at': n(at),
      ':v': n(meta.version),
    },
  };
}
