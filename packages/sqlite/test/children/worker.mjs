// A child process driving the BUILT package (dist/), as a separate program would. The parent
// (test/multiprocess.test.ts) sends one task, the child answers `ready`, waits for `go` (so
// that every child starts its work at once), does the work and answers with the result.
import { createClient } from '@libsql/client';
import { SqliteSessionStore } from '../../dist/index.js';

const send = (message) => new Promise((resolve) => process.send(message, resolve));
const nextMessage = () => new Promise((resolve) => process.once('message', resolve));

const task = await nextMessage();
const store = new SqliteSessionStore({
  url: task.url,
  tablePrefix: task.prefix,
  ...(task.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: task.busyTimeoutMs }),
});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// 'hold-lock': another program holding the database's write lock (BEGIN IMMEDIATE), taken before
// `ready`; see holdLock below.
const holder = task.kind === 'hold-lock' ? createClient({ url: task.url, timeout: 5000 }) : undefined;
let held;
const takeLock = async () => {
  held = await holder.transaction('write');
  await held.execute('CREATE TABLE IF NOT EXISTS lock_holder (n INTEGER)');
  await held.execute('INSERT INTO lock_holder VALUES (1)');
};
try {
  if (task.migrateFirst) await store.migrate();
  if (holder) await takeLock();
  await send({ type: 'ready' });
  await nextMessage(); // go
  if (task.migrateOnGo) await store.migrate();
  const result = await run(task);
  await send({ type: 'done', result });
  if (task.exitWithoutClose) {
    // Simulates a crash: the parent kills this process while the store is still open.
    await nextMessage();
  }
} catch (error) {
  await send({ type: 'failed', error: `${error?.name}: ${error?.message}` });
} finally {
  holder?.close();
  await store.close();
  process.disconnect();
}

async function run(task) {
  switch (task.kind) {
    case 'append': {
      // `lanes` logical writers per process, each appending its batches in order.
      await Promise.all(
        Array.from({ length: task.lanes }, async (_, lane) => {
          const writer = task.worker * task.lanes + lane;
          const session = store.session(task.sessionId);
          for (let batch = 0; batch < task.batches; batch++) {
            const size = 1 + ((writer + batch) % 5);
            await session.addItems(
              Array.from({ length: size }, (_, i) => ({
                type: 'message',
                role: 'user',
                content: `w${writer}b${batch}i${i}`,
                w: writer,
                b: batch,
                i,
                size,
              })),
            );
          }
        }),
      );
      return null;
    }
    case 'pop': {
      const session = store.session(task.sessionId);
      const popped = [];
      for (;;) {
        const item = await session.popItem();
        if (item === undefined) return popped;
        popped.push(item.content);
      }
    }
    case 'first-use': {
      // No migrate() call: the first operation creates the schema, racing the other children.
      await store.session(task.sessionId).addItems([{ type: 'message', role: 'user', content: `from ${task.worker}` }]);
      return null;
    }
    case 'write-history': {
      for (const [sessionId, items] of Object.entries(task.histories)) {
        const session = store.session(sessionId);
        for (const item of items) await session.addItems([item]);
      }
      return null;
    }
    case 'hold-lock': {
      // Locked since before `ready`: hold it `holdMs` more, release; then `cycles - 1` more rounds
      // of `gapMs` free and `holdMs` locked.
      for (let cycle = 0; cycle < task.cycles; cycle++) {
        if (cycle > 0) {
          await sleep(task.gapMs);
          await takeLock();
        }
        await sleep(task.holdMs);
        await held.commit();
      }
      return task.cycles;
    }
    default:
      throw new Error(`unknown task ${task.kind}`);
  }
}
