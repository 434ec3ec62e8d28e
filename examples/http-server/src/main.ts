// Starts the chat API: SESSIONS_URL picks the store (default file:./http-chat.db, SQLite),
// PORT and HOST the address (default 127.0.0.1:3000; PORT=0 picks a free port).
import { Agent, setTracingDisabled } from '@openai/agents';
import { openSessionStore, redactUrl } from '@sessions/core';
import { OfflineModel } from './offline-model.ts';
import { createChatServer } from './server.ts';

const url = process.env.SESSIONS_URL ?? 'file:./http-chat.db';
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 3000);

const offline = !process.env.OPENAI_API_KEY;
// Offline, nothing may touch the network; the trace exporter would try to upload to OpenAI.
if (offline) setTracingDisabled(true);
const agent = new Agent({
  name: 'Assistant',
  instructions: 'You are a helpful assistant behind an HTTP API. Answer briefly.',
  ...(offline ? { model: new OfflineModel() } : {}), // no model: the SDK's default OpenAI model
});

// One store for the whole process: it owns the connection pool that every request shares.
const store = await openSessionStore(url);
const server = createChatServer(store, agent);
server.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  console.log(`chat API on http://${host}:${actual} (store ${redactUrl(url)}${offline ? ', offline model' : ''})`);
});

// Graceful stop: refuse new connections, let in-flight requests finish (their turn is then
// stored completely), and only then close the store. A second signal exits at once.
// `on`, not `once`: the Agents SDK also listens to these signals and calls process.exit() as
// soon as its listener is the only one left, which would cut this shutdown short.
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, async () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal}: finishing in-flight requests`);
    const force = setTimeout(() => server.closeAllConnections(), 10_000).unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearTimeout(force);
    await store.close();
    console.log('store closed');
  });
}
