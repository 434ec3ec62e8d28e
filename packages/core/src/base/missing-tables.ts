/**
 * What a store with `createIfMissing: false` does when its tables are absent, for backends whose
 * driver reports "no such table" as an error (SQL): a read finds nothing stored and returns its
 * empty value; a write fails with the backend's own error saying to run `setup()`, never with the
 * driver's bare "relation does not exist".
 */
export interface MissingTablesPolicy<E extends Error> {
  createIfMissing: boolean;
  /** The driver's "no such table" error. */
  isMissingTable(error: unknown): boolean;
  /** The backend's error naming the tables and `setup()`, with the driver error as its cause. */
  explain(cause: unknown): E;
  /** True for an error `explain` made (or the backend's setup threw): it is passed on as it is. */
  isExplained(error: unknown): boolean;
}

export class MissingTables<E extends Error> {
  readonly #policy: MissingTablesPolicy<E>;

  constructor(policy: MissingTablesPolicy<E>) {
    this.#policy = policy;
  }

  /** `read()`, or `empty` when the tables are missing and may not be created. */
  async read<T>(read: () => Promise<T>, empty: T): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (this.#missing(error)) return empty;
      throw error;
    }
  }

  /** `write()`; missing tables that may not be created become the backend's explained error. */
  async write<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (this.#missing(error) && !this.#policy.isExplained(error)) throw this.#policy.explain(error);
      throw error;
    }
  }

  #missing(error: unknown): boolean {
    const { createIfMissing, isExplained, isMissingTable } = this.#policy;
    return !createIfMissing && (isExplained(error) || isMissingTable(error));
  }
}
