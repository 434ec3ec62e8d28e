/**
 * A Workers-style module run by test/workerd.test.ts inside the workerd runtime, bundled from the
 * source for the browser platform. POST `{ url, timeoutMs }`: it opens a store on that URL (the
 * store opens @libsql/client's Web client itself) and answers with how a read and a write failed.
 */
import { SqliteSessionStore } from '../../src/index.js';

interface Outcome {
  ok: boolean;
  name?: string;
  code?: string;
  retryable?: boolean;
  message?: string;
  ms: number;
}

async function outcome(call: () => Promise<unknown>): Promise<Outcome> {
  const started = Date.now();
  try {
    await call();
    return { ok: true, ms: Date.now() - started };
  } catch (error) {
    const { name, code, retryable, message } = error as {
      name: string;
      code: string;
      retryable: boolean;
      message: string;
    };
    return { ok: false, name, code, retryable, message, ms: Date.now() - started };
  }
}

export default {
  async fetch(request: Request): Promise<Response> {
    // The test's readiness probe.
    if (request.method !== 'POST') return new Response('ready');
    const { url, timeoutMs } = (await request.json()) as { url: string; timeoutMs: number };
    const store = new SqliteSessionStore({ url, timeoutMs });
    const session = store.session('edge-user');
    try {
      const read = await outcome(() => session.getItems());
      const write = await outcome(() => session.addItems([{ type: 'message', role: 'user', content: 'hi' }]));
      return Response.json({ read, write });
    } finally {
      await store.close();
    }
  },
};
