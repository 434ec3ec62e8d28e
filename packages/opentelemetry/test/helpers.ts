import { type Attributes, context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll } from 'vitest';

/** Async context for the file, as the Node SDK sets it up: spans started in `context.with` nest. */
export function useAsyncContext(): void {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(() => {
    context.disable();
  });
}

/** Real SDK providers with in-memory exporters: what the spans and metrics really are. */
export function telemetry() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  // Collected on demand (`collect()`); the interval only has to be longer than any test.
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    finished: (): ReadableSpan[] => spans.getFinishedSpans(),
    span(name: string): ReadableSpan {
      const found = spans.getFinishedSpans().filter((span) => span.name === name);
      if (found.length !== 1) throw new Error(`expected one span ${name}, found ${found.length}`);
      return found[0]!;
    },
    /** Every data point of metric `name`, by its attributes. */
    async points(name: string): Promise<DataPoint<number | Histogram>[]> {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      return resourceMetrics.scopeMetrics
        .flatMap((scope) => scope.metrics)
        .filter((metric) => metric.descriptor.name === name)
        .flatMap((metric) => metric.dataPoints as DataPoint<number | Histogram>[]);
    },
    async shutdown() {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

export type Telemetry = ReturnType<typeof telemetry>;

/** The data point whose attributes include all of `attributes`. */
export function pointWith<T>(points: DataPoint<T>[], attributes: Attributes): DataPoint<T> {
  const matching = points.filter((point) =>
    Object.entries(attributes).every(([key, value]) => point.attributes[key] === value),
  );
  if (matching.length !== 1) {
    throw new Error(`expected one point with ${JSON.stringify(attributes)}, found ${matching.length}`);
  }
  return matching[0]!;
}

export const message = (text: string) => ({ type: 'message', role: 'user', content: text });

/** UTF-8 bytes of the items' JSON, computed independently of the package. */
export const jsonBytes = (items: unknown[]) =>
  items.reduce<number>((n, item) => n + Buffer.byteLength(JSON.stringify(item), 'utf8'), 0);
