/**
 * Who owns a store's database client. A client the caller passed in is *borrowed*: the store
 * never connects, reconnects or closes it. A client the store builds from a URL or options is
 * *owned*: built on first use (so `new XSessionStore(...)` and `store.session(id)` do no I/O) and
 * closed by `close()`, only if it was ever built.
 */
export class ClientHandle<C> {
  readonly owned: boolean;
  #client: C | undefined;
  readonly #open: (() => C) | undefined;
  readonly #close: ((client: C) => Promise<void> | void) | undefined;
  #released: Promise<void> | undefined;

  private constructor(
    owned: boolean,
    client: C | undefined,
    open?: () => C,
    close?: (client: C) => Promise<void> | void,
  ) {
    this.owned = owned;
    this.#client = client;
    this.#open = open;
    this.#close = close;
  }

  /** The caller's client: used as it is, never closed by the store. */
  static borrowed<C>(client: C): ClientHandle<C> {
    return new ClientHandle<C>(false, client);
  }

  /** A client the store builds with `open` on first use and releases with `close`. */
  static owned<C>(open: () => C, close: (client: C) => Promise<void> | void): ClientHandle<C> {
    return new ClientHandle<C>(true, undefined, open, close);
  }

  /** The client, built now if it is owned and was not built yet. */
  get client(): C {
    if (this.#client === undefined) this.#client = this.#open!();
    return this.#client;
  }

  /** The client if it exists already; never builds one. */
  peek(): C | undefined {
    return this.#client;
  }

  /** Closes an owned client that was built; does nothing for a borrowed one. Idempotent. */
  release(): Promise<void> {
    if (!this.#released) {
      const client = this.#client;
      this.#released = this.owned && client !== undefined ? Promise.resolve(this.#close!(client)) : Promise.resolve();
    }
    return this.#released;
  }
}
