import { SessionConnectionError, type SessionError } from '@sessions/core';
import { type RunningService, startPrivateService } from '@sessions/test-services';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../src/index.js';
import { uniquePrefix } from './helpers.js';

// A server of our own (append-only file, fsync always), restarted in the middle of a workload.
let service: RunningService & { restart(): Promise<void> };
beforeAll(async () => {
  service = await startPrivateService('redis');
});
afterAll(async () => {
  await service?.stop();
});

const BATCH = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Outcome {
  acknowledged: string[];
  failed: string[];
  errors: unknown[];
  successesAfterRestart: number;
}

describe('a server restart during a workload', () => {
  it('fails calls with SessionConnectionError, never writes half a batch, keeps acknowledged writes and recovers', async () => {
    const keyPrefix = uniquePrefix('restart');
    const sessionId = 'busy-session';
    // The default client (offline queue, command timeout = timeoutMs) rides out a short restart; a
    // client with the offline queue disabled fails every call made while disconnected.
    const stores = [
      new RedisSessionStore({ url: service.url, keyPrefix }),
      new RedisSessionStore({ url: service.url, keyPrefix, clientOptions: { disableOfflineQueue: true } }),
    ];
    let restarted = false;
    const outcomes: Outcome[] = [];
    const writer = async (store: RedisSessionStore, name: string, transactional: boolean) => {
      const outcome: Outcome = { acknowledged: [], failed: [], errors: [], successesAfterRestart: 0 };
      outcomes.push(outcome);
      const session = store.session(sessionId);
      for (let b = 0; outcome.successesAfterRestart < 10; b++) {
        const batch = `${name}-${b}`;
        const items = Array.from({ length: BATCH }, (_, i) => ({ type: 'message', role: 'user', content: batch, i }));
        const after = restarted;
        for (;;) {
          try {
            if (transactional) {
              // A retried transaction reuses its operation id, so it lands exactly once.
              await session.applyHistoryTransaction({
                operationId: batch,
                transaction: { type: 'append_items', items },
              });
            } else {
              await session.addItems(items);
            }
            outcome.acknowledged.push(batch);
            if (after) outcome.successesAfterRestart++;
            break;
          } catch (error) {
            outcome.errors.push(error);
            if (!transactional) {
              outcome.failed.push(batch);
              break;
            }
            await sleep(5);
          }
        }
        await sleep(2);
      }
    };
    const readers = async (store: RedisSessionStore) => {
      const outcome: Outcome = { acknowledged: [], failed: [], errors: [], successesAfterRestart: 0 };
      outcomes.push(outcome);
      while (outcome.successesAfterRestart < 10) {
        const after = restarted;
        try {
          await store.session(sessionId).getItems(20);
          if (after) outcome.successesAfterRestart++;
        } catch (error) {
          outcome.errors.push(error);
        }
        await sleep(2);
      }
    };
    const workload = Promise.all(
      stores.flatMap((store, s) => [
        writer(store, `s${s}-plain-a`, false),
        writer(store, `s${s}-plain-b`, false),
        writer(store, `s${s}-tx-a`, true),
        writer(store, `s${s}-tx-b`, true),
        readers(store),
      ]),
    );
    await sleep(300);
    await service.restart();
    restarted = true;
    await workload;

    const errors = outcomes.flatMap((outcome) => outcome.errors);
    expect(errors.length, 'the restart was noticed').toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toBeInstanceOf(SessionConnectionError);
      expect((error as SessionError).code).toBe('CONNECTION');
      expect((error as Error).cause).toBeInstanceOf(Error);
    }

    // What is stored, read with a fresh client.
    const raw = createClient({ url: service.url });
    await raw.connect();
    const stored = (await raw.lRange(`${keyPrefix}:{${sessionId}}:items`, 0, -1)).map(
      (text) => JSON.parse(text) as { content: string; i: number },
    );
    await raw.close();
    const occurrences = new Map<string, number>();
    for (let k = 0; k < stored.length; k += BATCH) {
      const batch = stored[k]!.content;
      for (let i = 0; i < BATCH; i++) {
        expect(stored[k + i], `batch ${batch} is whole and contiguous`).toMatchObject({ content: batch, i });
      }
      occurrences.set(batch, (occurrences.get(batch) ?? 0) + 1);
    }
    for (const outcome of outcomes) {
      for (const batch of outcome.acknowledged) expect(occurrences.get(batch), `acknowledged ${batch}`).toBe(1);
      // A call that failed mid-flight may or may not have run, but never twice or in part.
      for (const batch of outcome.failed) expect(occurrences.get(batch) ?? 0).toBeLessThanOrEqual(1);
      expect(outcome.successesAfterRestart).toBe(10);
    }
    await Promise.all(stores.map((store) => store.close()));
  });
});
