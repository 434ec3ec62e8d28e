/**
 * OpenTelemetry for @sessions stores and sessions: one CLIENT span per operation (a child of the
 * active context, so it nests under an agent run's span, and the driver's own spans nest under it)
 * and three metrics, built on core's `withHooks`. Depends only on `@opentelemetry/api`: with no SDK
 * registered every call is a no-op.
 */
import {
  type Attributes,
  type Counter,
  context,
  createNoopMeter,
  type Histogram,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import {
  type HookedSession,
  type HookedStore,
  type Session,
  type SessionOperationEvent,
  type SessionOperationStart,
  type SessionStore,
  SessionValidationError,
  withHooks,
} from '@sessions/core';

/** The instrumentation scope of every span and metric. */
export const INSTRUMENTATION_NAME = '@sessions/opentelemetry';

export interface InstrumentOptions {
  /** Default: the global provider (`trace.getTracerProvider()`), looked up when a span starts. */
  tracerProvider?: TracerProvider;
  /** Default: the global provider (`metrics.getMeterProvider()`), looked up at each operation. */
  meterProvider?: MeterProvider;
  /**
   * Put the session id on spans as `sessions.session_id` (default false: it is often a user id).
   * Never on metrics, whose attributes must stay few.
   */
  recordSessionId?: boolean;
  /** `db.system.name` when the store's class does not tell it (a store of your own). */
  backend?: string;
  /** `server.address` / `server.port` when the store does not tell them (host only, no credentials). */
  serverAddress?: string;
  serverPort?: number;
}

/** Span and metric attribute names (OpenTelemetry database semantic conventions, plus ours). */
export const ATTR = {
  dbSystemName: 'db.system.name',
  dbOperationName: 'db.operation.name',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  itemCount: 'sessions.item_count',
  bytes: 'sessions.bytes',
  sessionId: 'sessions.session_id',
  outcome: 'sessions.outcome',
  direction: 'sessions.direction',
} as const;

/** Metric names. */
export const METRIC = {
  /** Histogram, seconds: every operation. */
  duration: 'sessions.operation.duration',
  /** Counter, items: written or read (`sessions.direction`). */
  items: 'sessions.items',
  /** Counter, bytes (UTF-8 JSON): written or read (`sessions.direction`). */
  bytes: 'sessions.bytes',
} as const;

/** Bucket boundaries of the database client duration histogram in the semantic conventions. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** Our backend names that differ from the semantic conventions' well-known `db.system.name` values. */
const DB_SYSTEM: Record<string, string> = { postgres: 'postgresql', dynamodb: 'aws.dynamodb' };

interface Instruments {
  duration: Histogram;
  items: Counter;
  bytes: Counter;
}

/**
 * Traces and measures every operation of `target` (a store: every session it hands out, its
 * catalog and `setup()`; or one session). Returns a wrapper with the same capabilities.
 *
 *   const store = instrument(new RedisSessionStore({ url }));
 *   await run(agent, input, { session: store.session(userId) }); // spans nest under the run's span
 */
export function instrument<T extends SessionStore<Session>>(store: T, options?: InstrumentOptions): HookedStore<T>;
export function instrument<S extends Session>(session: S, options?: InstrumentOptions): HookedSession<S>;
export function instrument(target: Session | SessionStore<Session>, options: InstrumentOptions = {}): unknown {
  if (options === null || typeof options !== 'object') {
    throw new SessionValidationError('instrument: options must be an object');
  }
  const { tracerProvider, meterProvider, recordSessionId = false } = options;
  let tracer: Tracer | undefined;
  const tracerNow = (): Tracer => {
    tracer ??= (tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME);
    return tracer;
  };
  // The global meter provider has no proxy (unlike the tracer's): look it up at every operation, so
  // that an SDK registered after `instrument()` is used, and keep its instruments.
  let instrumentsProvider: MeterProvider | undefined;
  let instruments: Instruments | undefined;
  /** The instruments of the current provider; undefined for the API's no-op one (nothing to record). */
  const instrumentsNow = (): Instruments | undefined => {
    const provider = meterProvider ?? metrics.getMeterProvider();
    if (provider !== instrumentsProvider) {
      instruments = createInstruments(provider);
      instrumentsProvider = provider;
    }
    return instruments;
  };

  return withHooks(target as Session, {
    backend: options.backend,
    serverAddress: options.serverAddress,
    serverPort: options.serverPort,
    async aroundOperation(start, proceed) {
      const parent = context.active();
      const span = tracerNow().startSpan(
        `sessions ${start.operation}`,
        { kind: SpanKind.CLIENT, attributes: spanStartAttributes(start, recordSessionId) },
        parent,
      );
      // The operation runs with our span active: a driver's own instrumentation nests under it.
      const event = await context.with(trace.setSpan(parent, span), proceed);
      endSpan(span, event);
      const current = instrumentsNow();
      if (current) record(current, event);
    },
  });
}

const NOOP_METER = createNoopMeter();

function createInstruments(provider: MeterProvider): Instruments | undefined {
  const meter = provider.getMeter(INSTRUMENTATION_NAME);
  // No SDK registered: skip building attributes for instruments that drop them.
  if (meter.constructor === NOOP_METER.constructor) return undefined;
  return {
    duration: meter.createHistogram(METRIC.duration, {
      unit: 's',
      description: 'Duration of @sessions operations.',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    items: meter.createCounter(METRIC.items, {
      unit: '{item}',
      description: 'Conversation items written or read by @sessions operations.',
    }),
    bytes: meter.createCounter(METRIC.bytes, {
      unit: 'By',
      description: 'UTF-8 bytes of the JSON of conversation items written or read by @sessions operations.',
    }),
  };
}

/** `db.system.name` for a backend name of `withHooks`. */
export function dbSystemName(backend: string): string {
  return DB_SYSTEM[backend] ?? backend;
}

function commonAttributes(start: SessionOperationStart): Attributes {
  const attributes: Attributes = {
    [ATTR.dbSystemName]: dbSystemName(start.backend),
    [ATTR.dbOperationName]: start.operation,
  };
  if (start.serverAddress !== undefined) attributes[ATTR.serverAddress] = start.serverAddress;
  if (start.serverPort !== undefined) attributes[ATTR.serverPort] = start.serverPort;
  return attributes;
}

function spanStartAttributes(start: SessionOperationStart, recordSessionId: boolean): Attributes {
  const attributes = commonAttributes(start);
  if (recordSessionId && start.sessionId !== undefined) attributes[ATTR.sessionId] = start.sessionId;
  return attributes;
}

/** Low-cardinality: the error's class name (`SessionConnectionError`), or `_OTHER`. */
export function errorType(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  return error instanceof Error && typeof name === 'string' && name !== '' ? name : '_OTHER';
}

function endSpan(span: Span, event: SessionOperationEvent): void {
  if (span.isRecording()) {
    if (event.direction !== undefined) {
      span.setAttribute(ATTR.itemCount, event.itemCount);
      span.setAttribute(ATTR.bytes, event.bytes);
    }
    if (event.outcome === 'error') {
      span.setAttribute(ATTR.errorType, errorType(event.error));
      const error = event.error;
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : undefined });
    }
  }
  span.end();
}

function record(instruments: Instruments, event: SessionOperationEvent): void {
  const attributes = commonAttributes(event);
  attributes[ATTR.outcome] = event.outcome;
  if (event.outcome === 'error') attributes[ATTR.errorType] = errorType(event.error);
  instruments.duration.record(event.durationMs / 1000, attributes);
  if (event.direction === undefined) return;
  // The same object with one more key (the duration histogram has copied what it keeps).
  attributes[ATTR.direction] = event.direction;
  instruments.items.add(event.itemCount, attributes);
  instruments.bytes.add(event.bytes, attributes);
}
