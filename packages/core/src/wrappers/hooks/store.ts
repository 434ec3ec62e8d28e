/** The store facade of `withHooks`: its sessions hooked, its catalog and `setup()` observed. */
import type { SessionCatalog, SessionFilter, SessionInfo } from '../../protocol/catalog.js';
import type { SessionStore } from '../../protocol/session.js';
import { type AnySession, hasMethod } from '../delegate.js';
import type { HookedStore } from './index.js';
import type { Hooks } from './runner.js';
import { hookSession } from './session.js';

export function hookStore<T extends SessionStore>(store: T, hooks: Hooks): HookedStore<T> {
  const inner = store as unknown as AnySession;
  const facade: AnySession = {
    inner: store,
    session: (sessionId: string) => hookSession(store.session(sessionId), hooks, sessionId),
    close: () => store.close(),
    [Symbol.asyncDispose]: () => store.close(),
  };
  const idOf = (value: unknown) => (typeof value === 'string' ? value : undefined);
  if (hasMethod(store, 'listSessions')) {
    facade.listSessions = (...args: unknown[]) =>
      hooks.run('listSessions', undefined, async () => inner.listSessions(...args));
  }
  if (hasMethod(store, 'sessions')) {
    // Page through the observed listSessions, so that every page is an operation of its own.
    facade.sessions = hasMethod(store, 'listSessions')
      ? async function* sessions(filter: SessionFilter & { pageSize?: number } = {}): AsyncGenerator<SessionInfo> {
          const { pageSize = 100, ...rest } = filter;
          let cursor: string | undefined;
          do {
            const page = await (facade as unknown as SessionCatalog).listSessions({
              ...rest,
              limit: pageSize,
              ...(cursor !== undefined && { cursor }),
            });
            yield* page.sessions;
            cursor = page.nextCursor;
          } while (cursor !== undefined);
        }
      : (...args: unknown[]) => inner.sessions(...args);
  }
  if (hasMethod(store, 'getSessionInfo')) {
    facade.getSessionInfo = (sessionId: unknown, ...rest: unknown[]) =>
      hooks.run('getSessionInfo', idOf(sessionId), async () => inner.getSessionInfo(sessionId, ...rest));
  }
  if (hasMethod(store, 'deleteSession')) {
    facade.deleteSession = (sessionId: unknown, ...rest: unknown[]) =>
      hooks.run('deleteSession', idOf(sessionId), async () => inner.deleteSession(sessionId, ...rest));
  }
  if (hasMethod(store, 'setup')) {
    facade.setup = (...args: unknown[]) => hooks.run('setup', undefined, async () => inner.setup(...args));
  }
  return facade as HookedStore<T>;
}
