/**
 * Setup work (schema, table, indexes) that must run once per database client and namespace in
 * this process, however many stores and sessions share the client. The promise is memoised; a
 * failed attempt is forgotten, so the next operation tries again (e.g. once the server is back).
 */
export class OncePerClient {
  readonly #done = new WeakMap<object, Map<string, Promise<void>>>();

  /** `again: true` runs `setup` now even if it already succeeded (an explicit migrate call). */
  run(client: object, key: string, setup: () => Promise<void>, again = false): Promise<void> {
    let perClient = this.#done.get(client);
    if (!perClient) {
      perClient = new Map();
      this.#done.set(client, perClient);
    }
    const known = again ? undefined : perClient.get(key);
    if (known) return known;
    const promise = setup();
    perClient.set(key, promise);
    const memo = perClient;
    promise.catch(() => {
      if (memo.get(key) === promise) memo.delete(key);
    });
    return promise;
  }
}
