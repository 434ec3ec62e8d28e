/**
 * Getting a client ready before each call, so that a store heals by itself. Two states of
 * mongodb 7.9 never heal on their own:
 * - When the first connection fails (server down at the first call), the driver closes the
 *   topology it built and keeps it: every later command fails with "Topology is closed", even
 *   once the server is up. `connect()` replaces it with a new one.
 * - When a server drops its connections just as a heartbeat starts on one of them, that
 *   heartbeat can wait forever (the socket is destroyed between the driver's check and its
 *   write, and it then waits for a `drain` that never comes): the server stays "unknown" and no
 *   command is sent again. Only closing the topology ends it.
 */
import type { MongoClient } from 'mongodb';

/**
 * A client the caller gave: only the first state is repaired, and only when the driver left its
 * topology closed after a failed connection (internal fields, read defensively: with a driver
 * that has none, nothing is done). A client the caller closed has no topology and stays closed.
 */
export async function healBorrowed(client: MongoClient | undefined): Promise<void> {
  const topology = (client as { topology?: { s?: { state?: unknown } } } | undefined)?.topology;
  if (client && topology?.s?.state === 'closed') await client.connect();
}

/** Extra time a heartbeat gets beyond its own timeout before it counts as stuck. */
export const STUCK_SLACK_MS = 1000;

/**
 * The store's own client: connected before every call (a no-op once connected), and closed and
 * connected again when a heartbeat has been pending for longer than the driver's own timeout
 * allows (`connectTimeoutMS`, plus `heartbeatFrequencyMS` for a streaming heartbeat).
 */
export class OwnedConnection {
  readonly #client: MongoClient;
  readonly #isClosed: () => boolean;
  readonly #pending = new Map<string, { since: number; awaited: boolean }>();
  #resetting: Promise<void> | undefined;
  /** How many times a stuck heartbeat made the store reopen its client (for tests). */
  resets = 0;

  /** `isClosed`: once the store is closed, a call still running must not open the client again. */
  constructor(client: MongoClient, isClosed: () => boolean) {
    this.#client = client;
    this.#isClosed = isClosed;
    client.on('serverHeartbeatStarted', (event) => {
      this.#pending.set(event.connectionId, { since: Date.now(), awaited: event.awaited });
    });
    const done = (event: { connectionId: string }) => this.#pending.delete(event.connectionId);
    client.on('serverHeartbeatSucceeded', done);
    client.on('serverHeartbeatFailed', done);
    client.on('topologyClosed', () => this.#pending.clear());
  }

  async ready(): Promise<void> {
    if (this.#stuck()) {
      this.#resetting ??= this.#reset().finally(() => {
        this.#resetting = undefined;
      });
    }
    await this.#resetting;
    if (!this.#isClosed()) await this.#client.connect();
  }

  #stuck(): boolean {
    const { connectTimeoutMS, heartbeatFrequencyMS } = this.#client.options;
    const now = Date.now();
    for (const { since, awaited } of this.#pending.values()) {
      const allowed = (connectTimeoutMS || 30_000) + (awaited ? heartbeatFrequencyMS : 0) + STUCK_SLACK_MS;
      if (now - since > allowed) return true;
    }
    return false;
  }

  async #reset(): Promise<void> {
    this.resets++;
    this.#pending.clear();
    await this.#client.close();
  }
}
