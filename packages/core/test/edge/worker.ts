/**
 * A Workers-style module (`export default { fetch }`) run by workerd.test.ts inside the workerd
 * runtime. It imports the source for the type checker; the test bundles it against core as an
 * installed package (built, resolved through package.json `exports`), with no Node built-in.
 *
 * POST a base64 master key; it answers with what it read back and what the backend stored.
 */
import { createInMemoryStorage, InMemorySessionStore, withEncryption } from '../../src/index.js';

/** The WebCrypto methods encryption may call, counted on the runtime's own `crypto.subtle`. */
const SUBTLE_METHODS = ['importKey', 'deriveBits', 'sign', 'encrypt', 'decrypt'] as const;

function countSubtleCalls(): Record<string, number> {
  const calls: Record<string, number> = {};
  const subtle = globalThis.crypto.subtle as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of SUBTLE_METHODS) {
    const original = subtle[name]!;
    calls[name] = 0;
    subtle[name] = (...args: unknown[]) => {
      calls[name]!++;
      return original.apply(globalThis.crypto.subtle, args);
    };
  }
  return calls;
}

const message = (content: string) => ({ type: 'message' as const, role: 'user' as const, content });

export default {
  async fetch(request: Request): Promise<Response> {
    // The test's readiness probe.
    if (request.method !== 'POST') return new Response('ready');
    const { keyBase64 } = (await request.json()) as { keyBase64: string };
    const subtleCalls = countSubtleCalls();
    const storage = createInMemoryStorage();
    const store = new InMemorySessionStore({ storage });
    const session = withEncryption(store.session('user-1'), { keys: [{ id: 'edge-key', key: { base64: keyBase64 } }] });

    await session.addItems([message('first secret'), message('second secret'), message('third secret')]);
    const readBack = await session.getItems();
    const popped = await session.popItem();
    const afterPop = await session.getItems();
    // What the backend holds: the same session without the wrapper.
    const stored = await store.session('user-1').getItems();
    await store.close();

    return Response.json({
      readBack,
      popped,
      afterPop,
      stored,
      subtleCalls,
      runtime: (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent,
      hasRequire: typeof (globalThis as { require?: unknown }).require !== 'undefined',
    });
  },
};
