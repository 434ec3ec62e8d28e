// instrument() with the real OpenTelemetry SDK and in-memory exporters, on the in-memory store and
// two real backends (Redis from @sessions/test-services, SQLite in a file): span names, kinds and
// attributes, nesting under an active span, error status against a stopped server, metric values.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, metrics, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { InMemorySession, InMemorySessionStore, type Session, SessionError } from '@sessions/core';
import { RedisSessionStore } from '@sessions/redis';
import { SqliteSessionStore } from '@sessions/sqlite';
import { startPrivateService } from '@sessions/test-services';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { ATTR, instrument, METRIC } from '../src/index.js';
import { jsonBytes, message, pointWith, type Telemetry, telemetry, useAsyncContext } from './helpers.js';

useAsyncContext();

const run = `otel_${Date.now().toString(36)}_${process.pid}`;
const sqliteDir = mkdtempSync(join(tmpdir(), 'sessions-otel-'));
afterAll(() => rmSync(sqliteDir, { recursive: true, force: true }));

interface BackendCase {
  name: string;
  /** The expected `db.system.name`. */
  system: string;
  open(): RedisSessionStore | SqliteSessionStore | InMemorySessionStore;
}

const backends: BackendCase[] = [
  { name: 'memory', system: 'memory', open: () => new InMemorySessionStore() },
  {
    name: 'redis',
    system: 'redis',
    open: () => new RedisSessionStore({ url: inject('redisUrl'), keyPrefix: run }),
  },
  {
    name: 'sqlite',
    system: 'sqlite',
    open: () => new SqliteSessionStore({ url: `file:${join(sqliteDir, 'sessions.db')}`, tablePrefix: run }),
  },
];

const opened: { close(): Promise<void> }[] = [];
const telemetries: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await Promise.all(telemetries.splice(0).map((t) => t.shutdown()));
});

function setUp(backend: BackendCase, options: { recordSessionId?: boolean } = {}) {
  const raw = backend.open();
  opened.push(raw);
  const t = telemetry();
  telemetries.push(t);
  const store = instrument(raw, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider, ...options });
  return { raw, store, t };
}

let counter = 0;
const newId = (label: string) => `${run}-${label}-${++counter}`;

describe.each(backends)('instrument over $name', (backend) => {
  it('one CLIENT span per operation, named and attributed by the database conventions', async () => {
    const { store, t } = setUp(backend);
    const id = newId('spans');
    const session = store.session(id);
    const items = [message('hello'), message('wörld ✓')];
    await session.addItems(items);
    expect(await session.getItems()).toEqual(items);
    expect(await session.popItem()).toEqual(items[1]);
    await session.applyHistoryTransaction({
      operationId: `${id}-op`,
      transaction: { type: 'append_items', items: [message('third')] },
    });
    expect((await store.getSessionInfo(id))?.itemCount).toBe(2);
    await store.listSessions({ limit: 1 });
    await store.deleteSession(id);

    expect(t.finished().map((span) => span.name)).toEqual([
      'sessions addItems',
      'sessions getItems',
      'sessions popItem',
      'sessions applyHistoryTransaction',
      'sessions getSessionInfo',
      'sessions listSessions',
      'sessions deleteSession',
    ]);
    for (const span of t.finished()) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.instrumentationScope.name).toBe('@sessions/opentelemetry');
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(span.attributes[ATTR.dbSystemName]).toBe(backend.system);
      expect(span.attributes[ATTR.dbOperationName]).toBe(span.name.slice('sessions '.length));
      expect(span.attributes).not.toHaveProperty(ATTR.sessionId); // not unless asked
      expect(span.attributes).not.toHaveProperty(ATTR.errorType);
      // None of these stores tells its server without credentials: the attributes are left out.
      expect(span.attributes).not.toHaveProperty(ATTR.serverAddress);
    }
    expect(t.span('sessions addItems').attributes).toMatchObject({
      [ATTR.itemCount]: 2,
      [ATTR.bytes]: jsonBytes(items),
    });
    expect(t.span('sessions getItems').attributes).toMatchObject({
      [ATTR.itemCount]: 2,
      [ATTR.bytes]: jsonBytes(items),
    });
    expect(t.span('sessions popItem').attributes).toMatchObject({
      [ATTR.itemCount]: 1,
      [ATTR.bytes]: jsonBytes([items[1]]),
    });
    expect(t.span('sessions applyHistoryTransaction').attributes).toMatchObject({ [ATTR.itemCount]: 1 });
    // Operations that move no items carry no item attributes.
    expect(t.span('sessions deleteSession').attributes).not.toHaveProperty(ATTR.itemCount);
  });

  it('nests under the active span (an agent run) and puts the session id on spans only when asked', async () => {
    const { store, t } = setUp(backend, { recordSessionId: true });
    const id = newId('nesting');
    const session = store.session(id);
    const agentRun = t.tracerProvider.getTracer('agents').startSpan('agent run');
    await context.with(trace.setSpan(context.active(), agentRun), async () => {
      await session.addItems([message('in a run')]);
      await session.getItems();
    });
    agentRun.end();
    await session.clearSession(); // outside the run: a root span

    const added = t.span('sessions addItems');
    const read = t.span('sessions getItems');
    for (const span of [added, read]) {
      expect(span.spanContext().traceId).toBe(agentRun.spanContext().traceId);
      expect(span.parentSpanContext?.spanId).toBe(agentRun.spanContext().spanId);
      expect(span.attributes[ATTR.sessionId]).toBe(id);
    }
    expect(t.span('sessions clearSession').parentSpanContext).toBeUndefined();
    await store.deleteSession(id);
  });

  it('records the duration histogram and the item and byte counters by operation, backend and outcome', async () => {
    const { store, t } = setUp(backend);
    const id = newId('metrics');
    const session = store.session(id);
    const first = [message('one'), message('two')];
    const second = [message('three')];
    await session.addItems(first);
    await session.addItems(second);
    await session.getItems();
    await session.getItems(1);
    await store.deleteSession(id);

    const system = { [ATTR.dbSystemName]: backend.system, [ATTR.outcome]: 'ok' };
    const durations = await t.points(METRIC.duration);
    const addDuration = pointWith(durations, { ...system, [ATTR.dbOperationName]: 'addItems' }).value as Histogram;
    expect(addDuration.count).toBe(2);
    expect(addDuration.sum).toBeGreaterThan(0);
    expect(addDuration.sum).toBeLessThan(10); // seconds: generous, it is two local calls
    expect((pointWith(durations, { ...system, [ATTR.dbOperationName]: 'getItems' }).value as Histogram).count).toBe(2);
    expect(
      (pointWith(durations, { ...system, [ATTR.dbOperationName]: 'deleteSession' }).value as Histogram).count,
    ).toBe(1);

    const written = { ...system, [ATTR.dbOperationName]: 'addItems', [ATTR.direction]: 'write' };
    const read = { ...system, [ATTR.dbOperationName]: 'getItems', [ATTR.direction]: 'read' };
    const items = await t.points(METRIC.items);
    const bytes = await t.points(METRIC.bytes);
    expect(pointWith(items, written).value).toBe(3);
    expect(pointWith(bytes, written).value).toBe(jsonBytes([...first, ...second]));
    expect(pointWith(items, read).value).toBe(3 + 1); // the whole history, then the newest item
    expect(pointWith(bytes, read).value).toBe(jsonBytes([...first, ...second, ...second]));
    // Operations that move no items are not counted; no metric carries the session id.
    expect(items.some((point) => point.attributes[ATTR.dbOperationName] === 'deleteSession')).toBe(false);
    expect([...durations, ...items, ...bytes].some((point) => ATTR.sessionId in point.attributes)).toBe(false);
  });
});

describe('a failing operation', () => {
  it('against a stopped Redis: span status ERROR, error.type, the exception, and outcome=error in the metrics', async () => {
    const service = await startPrivateService('redis');
    const t = telemetry();
    telemetries.push(t);
    const raw = new RedisSessionStore({ url: service.url, keyPrefix: run, timeoutMs: 2_000 });
    try {
      const store = instrument(raw, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
      const session = store.session(newId('down'));
      await session.addItems([message('before the stop')]);
      await service.stop();

      const started = Date.now();
      const error = await session.getItems().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - started).toBeLessThan(15_000); // bounded by timeoutMs, generously
      expect(error).toBeInstanceOf(SessionError);
      const name = (error as Error).name;
      expect(name).toMatch(/^Session(Connection|Timeout)Error$/);

      const failed = t.span('sessions getItems');
      expect(failed.status.code).toBe(SpanStatusCode.ERROR);
      expect(failed.status.message).toBe((error as Error).message);
      expect(failed.attributes[ATTR.errorType]).toBe(name);
      expect(failed.attributes[ATTR.dbSystemName]).toBe('redis');
      expect(failed.events.map((event) => event.name)).toEqual(['exception']);
      expect(t.span('sessions addItems').status.code).toBe(SpanStatusCode.UNSET);

      const durations = await t.points(METRIC.duration);
      const point = pointWith(durations, { [ATTR.dbOperationName]: 'getItems', [ATTR.outcome]: 'error' });
      expect(point.attributes[ATTR.errorType]).toBe(name);
      expect((point.value as Histogram).count).toBe(1);
      expect(pointWith(await t.points(METRIC.items), { [ATTR.outcome]: 'error' }).value).toBe(0);
    } finally {
      await raw.close();
      await service.stop();
    }
  });

  it('a refused write (validation) is an error span too, and the caller gets the same error', async () => {
    const { store, t } = setUp(backends[0]!);
    const error = await store
      .session(newId('invalid'))
      .addItems([{ big: 10n }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    const span = t.span('sessions addItems');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes[ATTR.errorType]).toBe('SessionSerializationError');
  });
});

describe('providers and wrapping', () => {
  it('the driver’s (or any inner) instrumentation nests under our span', async () => {
    const t = telemetry();
    telemetries.push(t);
    const driverTracer = t.tracerProvider.getTracer('driver');
    const inner = new InMemorySession({ sessionId: 'inner-spans' });
    // Stands in for an instrumented driver: it starts its span in whatever context is active.
    const traced: Session = {
      getSessionId: () => inner.getSessionId(),
      getItems: (limit?: number) =>
        driverTracer.startActiveSpan('driver LRANGE', async (span) => {
          try {
            return await inner.getItems(limit);
          } finally {
            span.end();
          }
        }),
      addItems: (items) => inner.addItems(items),
      popItem: () => inner.popItem(),
      clearSession: () => inner.clearSession(),
    };
    const session = instrument(traced, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
    await session.getItems();
    const ours = t.span('sessions getItems');
    expect(t.span('driver LRANGE').parentSpanContext?.spanId).toBe(ours.spanContext().spanId);
    expect(ours.attributes[ATTR.dbSystemName]).toBe('unknown'); // a session of its own: no class name to go by
  });

  it('uses the global providers by default, including a meter provider registered after instrument()', async () => {
    const t = telemetry();
    telemetries.push(t);
    const session = instrument(new InMemorySession({ sessionId: 'global' }), { backend: 'custom' });
    await session.addItems([message('before any SDK')]); // no-op providers: works, records nothing
    expect(t.finished()).toEqual([]);
    trace.setGlobalTracerProvider(t.tracerProvider);
    metrics.setGlobalMeterProvider(t.meterProvider);
    try {
      await session.addItems([message('after')]);
      expect(t.span('sessions addItems').attributes[ATTR.dbSystemName]).toBe('custom');
      expect(pointWith(await t.points(METRIC.items), { [ATTR.dbOperationName]: 'addItems' }).value).toBe(1);
    } finally {
      trace.disable();
      metrics.disable();
    }
  });

  it('server.address and server.port from the options, db.system.name by the conventions', async () => {
    const t = telemetry();
    telemetries.push(t);
    const store = instrument(new InMemorySessionStore(), {
      tracerProvider: t.tracerProvider,
      meterProvider: t.meterProvider,
      backend: 'postgres',
      serverAddress: 'db.internal',
      serverPort: 6432,
    });
    opened.push(store);
    await store.session('s').getItems();
    expect(t.span('sessions getItems').attributes).toMatchObject({
      [ATTR.dbSystemName]: 'postgresql',
      [ATTR.serverAddress]: 'db.internal',
      [ATTR.serverPort]: 6432,
    });
  });

  it('keeps the capabilities of what it wraps', async () => {
    const store = instrument(new InMemorySessionStore());
    opened.push(store);
    const session = store.session('caps');
    expect(typeof session.applyHistoryTransaction).toBe('function');
    expect(typeof session.replaceHistoryWithCompaction).toBe('function');
    expect(typeof session.applyHistoryMutations).toBe('function');
    expect(typeof session.updateMetadata).toBe('function');
    expect(typeof store.listSessions).toBe('function');
    const bare = instrument({
      getSessionId: async () => 'bare',
      getItems: async () => [],
      addItems: async () => {},
      popItem: async () => undefined,
      clearSession: async () => {},
    });
    expect('applyHistoryTransaction' in bare).toBe(false);
    expect('getMetadata' in bare).toBe(false);
  });
});
