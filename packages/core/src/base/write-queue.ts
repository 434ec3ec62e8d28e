interface Lane<State> {
  tail: Promise<void>;
  waiting: number;
  state: State;
}

/**
 * Takes turns between the writers of one session that share a client in this process.
 *
 * For backends whose writes are optimistic (a conditional write that loses cleanly to a
 * concurrent writer, then re-reads and retries): without it, in-process writers mostly make
 * each other retry. Correctness never depends on it: writers in other processes still race,
 * and the database decides. Each lane carries a small `state` object that lives while writers
 * are queued, so a writer can hand what it learned (e.g. the version it wrote) to the next.
 */
export class SessionWriteQueue<State extends object = object> {
  readonly #lanes = new WeakMap<object, Map<string, Lane<State>>>();
  readonly #createState: () => State;

  constructor(createState: () => State = () => ({}) as State) {
    this.#createState = createState;
  }

  /** Runs `task` after every earlier task of the same `owner` (a client) and `key` settles. */
  run<T>(owner: object, key: string, task: (state: State) => Promise<T>): Promise<T> {
    let lanes = this.#lanes.get(owner);
    if (!lanes) {
      lanes = new Map();
      this.#lanes.set(owner, lanes);
    }
    let lane = lanes.get(key);
    if (!lane) {
      lane = { tail: Promise.resolve(), waiting: 0, state: this.#createState() };
      lanes.set(key, lane);
    }
    const current = lane;
    const previous = current.tail;
    let release!: () => void;
    current.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    current.waiting++;
    const perOwner = lanes;
    return (async () => {
      await previous;
      try {
        return await task(current.state);
      } finally {
        current.waiting--;
        if (current.waiting === 0 && perOwner.get(key) === current) perOwner.delete(key);
        release();
      }
    })();
  }
}
