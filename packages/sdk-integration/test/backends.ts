// Every backend the registry knows (built from the backends' descriptors), opened from a URL on
// the real test servers with a per-run namespace, plus the in-memory reference.
import { BACKEND_DESCRIPTORS, openSessionStore } from '@sessions/cli';
import type { FullSession, SessionStore } from '@sessions/core';
import { InMemorySessionStore } from '@sessions/core';
import { inject } from 'vitest';

export interface Backend {
  name: string;
  open(): Promise<SessionStore<FullSession>>;
}

const run = `it${Date.now().toString(36)}`;

export const backends: Backend[] = [
  { name: 'memory', open: async () => new InMemorySessionStore() },
  ...BACKEND_DESCRIPTORS.map((descriptor) => ({
    name: descriptor.name,
    open: async () => {
      const { service } = descriptor.testServer;
      const serverUrl = service === 'none' ? undefined : inject('serviceUrls')[service];
      // Every backend of this library implements every capability (the contract suite proves it).
      return (await openSessionStore(
        descriptor.testServer.storeUrl(serverUrl, run),
      )) as unknown as SessionStore<FullSession>;
    },
  })),
];
