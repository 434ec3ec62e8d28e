import { describe, expect, it } from 'vitest';
import { InMemorySession, SessionSerializationError } from '../../src/index.js';

describe('items whose reading throws', () => {
  it('a throwing getter becomes SessionSerializationError naming its path, and nothing is written', async () => {
    const session = new InMemorySession({ sessionId: 'getters' });
    const item = {
      type: 'message',
      content: [
        {
          get text(): string {
            throw new RangeError('no text today');
          },
        },
      ],
    };
    const error = await session.addItems([{ type: 'message', content: 'ok' }, item]).catch((e) => e);
    expect(error).toBeInstanceOf(SessionSerializationError);
    expect(error.path).toBe('items[1].content[0].text');
    expect(error.message).toContain('reading it threw (RangeError)');
    expect(error.message).not.toContain('no text today'); // a thrown message may hold anything
    expect(await session.getItems()).toEqual([]);
  });

  it('a Proxy with throwing traps becomes SessionSerializationError, whichever trap throws', async () => {
    const session = new InMemorySession({ sessionId: 'proxies' });
    const traps: Array<[string, ProxyHandler<object>]> = [
      [
        'ownKeys',
        {
          ownKeys: () => {
            throw new Error('ownKeys trap');
          },
        },
      ],
      [
        'get',
        {
          get: () => {
            throw new Error('get trap');
          },
        },
      ],
      [
        'getPrototypeOf',
        {
          getPrototypeOf: () => {
            throw new Error('prototype trap');
          },
        },
      ],
    ];
    for (const [name, handler] of traps) {
      const hostile = new Proxy({ type: 'message', content: 'x' }, handler);
      const top = await session.addItems([hostile]).catch((e) => e);
      expect(top, name).toBeInstanceOf(SessionSerializationError);
      const nested = await session.addItems([{ type: 'message', content: [hostile] }]).catch((e) => e);
      expect(nested, name).toBeInstanceOf(SessionSerializationError);
    }
    const { proxy, revoke } = Proxy.revocable({ a: 1 }, {});
    revoke();
    const revoked = await session.addItems([{ type: 'message', data: proxy }]).catch((e) => e);
    expect(revoked).toBeInstanceOf(SessionSerializationError);
    expect(revoked.path).toBe('items[0].data');
    expect(await session.getItems()).toEqual([]);
  });
});
