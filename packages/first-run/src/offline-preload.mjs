// Loaded with `node --import` (NODE_OPTIONS) into every process a doc test or a copied example
// starts: (a) the process may open connections to this machine only, so README code can never
// reach OpenAI, AWS or a host named in an example; (b) the Agents SDK's default model provider is
// an offline model (offline-model.mjs, through offline-hooks.mjs), so `run(agent, input, { session })`
// answers with no network and no API key.
// Plain JavaScript, so that every Node version loads it before tsx's loader exists.
import { register } from 'node:module';
import net from 'node:net';

/** This machine: localhost, 127.0.0.0/8 and ::1. */
function isLocal(host) {
  const name = String(host)
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '::1' ||
    /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
  );
}

function refusal(host) {
  return Object.assign(
    new Error(`connect ECONNREFUSED ${host}: the doc tests run offline (only 127.0.0.1/localhost may be reached)`),
    { code: 'ECONNREFUSED' },
  );
}

// Every TCP or TLS connection (http, https, undici's fetch, every database driver) goes through
// Socket#connect. `net.connect()` hands it a normalised [options, callback] array.
function connectHost(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first && typeof first === 'object') return first.path ? undefined : (first.host ?? 'localhost');
  if (typeof first === 'number' || /^\d+$/.test(String(first)))
    return typeof args[1] === 'string' ? args[1] : 'localhost';
  return undefined; // a Unix socket path
}

const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  const host = connectHost(args);
  if (host !== undefined && !isLocal(host)) {
    // As a refused connection: the caller's error handling runs as it would for a real one.
    process.nextTick(() => this.destroy(refusal(host)));
    return this;
  }
  return realConnect.apply(this, args);
};

// fetch refuses before any DNS look-up, with the host in the message.
const realFetch = globalThis.fetch;
if (realFetch) {
  globalThis.fetch = function fetch(input, init) {
    let url;
    try {
      url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    } catch {
      return realFetch(input, init);
    }
    if (/^(https?|wss?):$/.test(url.protocol) && !isLocal(url.hostname)) {
      return Promise.reject(new TypeError('fetch failed', { cause: refusal(url.host) }));
    }
    return realFetch(input, init);
  };
}

// The offline model is installed when the program loads the SDK, never before: a program that
// does not use the SDK pays nothing for it.
register('./offline-hooks.mjs', import.meta.url);
