/** The hooks of one `withHooks` call: running an operation and reporting it. */
import { describeSessionTarget } from './describe.js';
import type {
  SessionHooks,
  SessionOperation,
  SessionOperationEvent,
  SessionOperationStart,
  WritePart,
} from './index.js';
import { checked, finish, isArray, type Tally } from './measure.js';

/** The hooks of one `withHooks` call, with what it found out about the target once. */
export class Hooks {
  readonly observed: boolean;
  readonly backend: string;
  readonly serverAddress: string | undefined;
  readonly serverPort: number | undefined;

  constructor(
    readonly hooks: SessionHooks,
    target: object,
  ) {
    this.observed = hooks.onOperation !== undefined || hooks.aroundOperation !== undefined;
    const described = describeSessionTarget(target);
    this.backend = hooks.backend ?? described.backend;
    const address = hooks.serverAddress ?? described.serverAddress;
    this.serverAddress = address;
    this.serverPort = hooks.serverAddress !== undefined ? hooks.serverPort : described.serverPort;
  }

  async beforeWrite(items: unknown, operation: SessionOperation, sessionId: string | undefined, part: WritePart) {
    const hook = this.hooks.beforeWrite;
    if (!hook || !isArray(items)) return items; // not an array: the inner session refuses it
    return checked(await hook(items, { operation, sessionId, backend: this.backend, part }), items, 'beforeWrite');
  }

  async afterRead(items: unknown, operation: SessionOperation, sessionId: string | undefined) {
    const hook = this.hooks.afterRead;
    if (!hook || !isArray(items)) return items;
    return checked(
      await hook(items, { operation, sessionId, backend: this.backend, part: 'items' }),
      items,
      'afterRead',
    );
  }

  /** Runs `body` as one operation, reporting it to `aroundOperation` and `onOperation`. */
  async run<T>(operation: SessionOperation, sessionId: string | undefined, body: (tally: Tally) => Promise<T>) {
    const tally: Tally = { items: undefined };
    if (!this.observed) return body(tally);
    const start: SessionOperationStart = { operation, sessionId, backend: this.backend };
    if (this.serverAddress !== undefined) start.serverAddress = this.serverAddress;
    if (this.serverPort !== undefined) start.serverPort = this.serverPort;
    let result: T | undefined;
    let failed = false;
    let error: unknown;
    const perform = async (): Promise<SessionOperationEvent> => {
      const started = performance.now();
      try {
        result = await body(tally);
      } catch (thrown) {
        failed = true;
        error = thrown;
      }
      const event = finish(start, tally, performance.now() - started, failed, error);
      const onOperation = this.hooks.onOperation;
      if (onOperation) {
        // An observer must never change the outcome of the call it observes (nor delay a sync one by a tick).
        try {
          const returned = onOperation(event) as { then?: unknown } | undefined;
          if (typeof returned?.then === 'function') await Promise.resolve(returned).catch(() => {});
        } catch {}
      }
      return event;
    };
    const around = this.hooks.aroundOperation;
    if (around) {
      let performed: Promise<SessionOperationEvent> | undefined;
      const proceed = () => {
        performed ??= perform();
        return performed;
      };
      try {
        await around(start, proceed);
      } catch {
        // As for onOperation: a failing tracer must not fail the call.
      }
      await proceed();
    } else {
      await perform();
    }
    if (failed) throw error;
    return result as T;
  }
}
