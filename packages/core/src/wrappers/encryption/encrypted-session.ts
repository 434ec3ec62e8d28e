import { validateLimit } from '../../encoding/arguments.js';
import { encodeItem, encodeItems } from '../../encoding/items.js';
import { encodeHistoryMutations, encodeHistoryTransaction } from '../../encoding/transactions.js';
import { SessionDecryptionError } from '../../errors/decryption-error.js';
import { SessionValidationError } from '../../errors/session-errors.js';
import type { AgentInputItem, HistoryMutationArgs, Session } from '../../protocol/session.js';
import { type AnySession, buildFacade, hasMethod, isConflict, type WrappedSession } from '../delegate.js';
import {
  deriveSessionKeys,
  type EncryptedItem,
  isEnvelope,
  type Opened,
  open,
  type SessionKeys,
  seal,
} from './envelope.js';
import type { PreparedKeys } from './keys.js';

/** What `withEncryption` returns: the wrapped session's capabilities plus key rotation. */
export type EncryptedSession<S extends Session = Session> = WrappedSession<S> & {
  /** The session that holds the sealed items. */
  readonly inner: S;
  /**
   * Re-seals every item not sealed under `keys[0]`, atomically (needs the inner session's
   * `applyHistoryTransaction`). Returns how many items were re-sealed. After it has run on every
   * session, the old keys can be dropped.
   */
  reencrypt(): Promise<number>;
};

const MAX_ATTEMPTS = 10;
const MAX_POP_ATTEMPTS = 64;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One wrapped session: seals on the way in, opens on the way out. */
export class EncryptedSessionImpl<S extends Session> {
  readonly facade: EncryptedSession<S>;
  readonly #inner: AnySession;
  readonly #keys: PreparedKeys;
  readonly #sessionKeys = new Map<string, Promise<SessionKeys>>();
  #sessionId: string | undefined;

  constructor(inner: S, keys: PreparedKeys) {
    this.#inner = inner as AnySession;
    this.#keys = keys;
    this.facade = buildFacade(
      inner,
      {
        getSessionId: (...rest) => this.#inner.getSessionId(...rest),
        getItems: (limit, ...rest) => this.getItems(limit, rest),
        addItems: (items, ...rest) => this.addItems(items, rest),
        popItem: (...rest) => this.popItem(rest),
        clearSession: (...rest) => this.#inner.clearSession(...rest),
        applyHistoryTransaction: (args, ...rest) => this.applyHistoryTransaction(args, rest),
        replaceHistoryWithCompaction: (items, ...rest) => this.replaceHistoryWithCompaction(items, rest),
        applyHistoryMutations: hasMethod(inner, 'applyHistoryTransaction')
          ? (args, ...rest) => this.applyHistoryMutations(args, rest)
          : undefined,
      },
      { inner, reencrypt: () => this.reencrypt() },
    ) as EncryptedSession<S>;
  }

  async getItems(limit: unknown, rest: unknown[]): Promise<AgentInputItem[]> {
    const checked = validateLimit(limit);
    if (checked === 0) return this.#inner.getItems(0, ...rest); // [] (or the inner's closed error)
    if (checked === undefined) {
      return this.#readable(await this.#inner.getItems(undefined, ...rest));
    }
    // With `skip`, unreadable items do not count against the limit: read further back for them.
    for (let want = checked; ; ) {
      const raw: unknown[] = await this.#inner.getItems(want, ...rest);
      const items = await this.#readable(raw);
      if (items.length >= checked || raw.length < want) return items.slice(-checked);
      want += 2 * (checked - items.length);
    }
  }

  async addItems(items: AgentInputItem[], rest: unknown[]): Promise<void> {
    const texts = encodeItems(items);
    if (texts.length === 0) return this.#inner.addItems([], ...rest);
    const sealed = await Promise.all(texts.map((text) => this.#seal(text)));
    await this.#inner.addItems(sealed, ...rest);
  }

  /**
   * An atomic conditional pop: the newest item is read and opened, then removed only if it is
   * still the newest (a `replace_suffix` transaction with it as the expected suffix and nothing as
   * the replacement). An item this instance cannot open is never removed, whatever runs at the
   * same time: during a rolling key rotation an old instance pops only what it could read.
   */
  async popItem(rest: unknown[]): Promise<AgentInputItem | undefined> {
    if (!hasMethod(this.#inner, 'applyHistoryTransaction')) return this.#popWithoutTransactions(rest);
    for (let attempt = 1; ; attempt++) {
      const [newest] = await this.#inner.getItems(1, ...rest);
      if (newest === undefined) return undefined;
      const opened = await this.#open(newest);
      if (!opened.ok) return this.#unreadablePop(await this.#error(opened, 0, 1));
      try {
        await this.#inner.applyHistoryTransaction(
          {
            operationId: `pop:${globalThis.crypto.randomUUID()}`,
            transaction: { type: 'replace_suffix', expectedSuffix: [newest], replacement: [] },
          },
          ...rest,
        );
        return opened.item;
      } catch (error) {
        // Another writer or popper changed the tail first: each lost race means one of them
        // made progress, so the loop ends; the bound only guards against a livelock.
        if (!isConflict(error, 'suffix_mismatch') || attempt >= MAX_POP_ATTEMPTS) throw error;
        if (attempt > 3) await sleep(Math.random() * Math.min(50, attempt * 2));
      }
    }
  }

  /**
   * For an inner session without transactions: look, then pop. Not atomic (a concurrent write
   * between the two calls can put an unreadable item on top, which is then removed and reported).
   */
  async #popWithoutTransactions(rest: unknown[]): Promise<AgentInputItem | undefined> {
    const [newest] = await this.#inner.getItems(1, ...rest);
    if (newest === undefined) return undefined;
    const checked = await this.#open(newest);
    if (!checked.ok) return this.#unreadablePop(await this.#error(checked, 0, 1));
    const raw = await this.#inner.popItem(...rest);
    if (raw === undefined) return undefined;
    const opened = await this.#open(raw);
    return opened.ok ? opened.item : this.#unreadablePop(await this.#error(opened, 0, 1));
  }

  #unreadablePop(error: SessionDecryptionError): undefined {
    if (this.#keys.policy === 'throw') throw error;
    this.#report(error);
    return undefined;
  }

  async replaceHistoryWithCompaction(items: AgentInputItem[], rest: unknown[]): Promise<void> {
    const texts = encodeItems(items);
    const sealed = await Promise.all(texts.map((text) => this.#seal(text)));
    await this.#inner.replaceHistoryWithCompaction(sealed, ...rest);
  }

  /**
   * Transactions over sealed items. The backend compares and remembers what it stores, so the
   * sealed transaction must be a pure function of the plaintext one, or a retry would look like
   * a different transaction under the same id:
   * - replacement items get an IV derived from HMAC(operationId, index, plaintext), so a retry
   *   produces byte-identical ciphertexts (and nothing else ever reuses an IV with other text);
   * - the expected suffix is sealed in a canonical form (IV from HMAC(distance from the end,
   *   plaintext)). Stored items normally have random IVs, so on a mismatch the stored tail is
   *   read, opened and compared as plaintext; if it matches, it is first re-sealed in canonical
   *   form by a conditional replace (history unchanged as plaintext) and the transaction retried.
   */
  async applyHistoryTransaction(args: unknown, rest: unknown[]): Promise<void> {
    const plain = encodeHistoryTransaction(args as never);
    const type = (args as { transaction: { type: 'append_items' | 'replace_suffix' } }).transaction.type;
    const build = async (kid: string) => {
      const replacement = await Promise.all(
        plain.replacement.map((text, i) => this.#seal(text, kid, `tx\u0000${plain.operationId}\u0000${i}`)),
      );
      if (type === 'append_items') return { type, items: replacement };
      return { type, expectedSuffix: await this.#canonicalSuffix(plain.expectedSuffix, kid), replacement };
    };
    const apply = async (kid: string) =>
      this.#inner.applyHistoryTransaction({ operationId: plain.operationId, transaction: await build(kid) }, ...rest);

    for (let attempt = 0; ; attempt++) {
      try {
        await apply(this.#keys.writerId);
        return;
      } catch (error) {
        if (isConflict(error, 'operation_id_reused')) {
          // The backend knows this id. If it was applied before a key rotation, the retry is the
          // same transaction sealed under an older key: offer each one (a known id never writes).
          for (const kid of this.#keys.material.keys()) {
            if (kid === this.#keys.writerId) continue;
            try {
              await apply(kid);
              return;
            } catch (retryError) {
              if (!isConflict(retryError)) throw retryError;
            }
          }
          throw error;
        }
        if (!isConflict(error, 'suffix_mismatch') || type !== 'replace_suffix' || attempt >= MAX_ATTEMPTS) throw error;
        if (!(await this.#canonicalizeTail(plain.expectedSuffix, rest))) throw error;
      }
    }
  }

  /**
   * Re-seals the stored tail in the canonical form of `expected` when it holds the same plaintext.
   * Returns false when it does not (a genuine mismatch).
   */
  async #canonicalizeTail(expected: string[], rest: unknown[]): Promise<boolean> {
    const n = expected.length;
    const raw: unknown[] = await this.#inner.getItems(n, ...rest);
    if (raw.length < n) return false;
    const opened = await Promise.all(raw.map((item) => this.#open(item)));
    for (let i = 0; i < n; i++) {
      const item = opened[i]!;
      if (!item.ok || encodeItem(item.item) !== expected[i]) return false;
    }
    const canonical = await this.#canonicalSuffix(expected, this.#keys.writerId);
    if (canonical.every((item, i) => encodeItem(item) === encodeItem(raw[i]))) return true; // someone else did it
    try {
      await this.#inner.applyHistoryTransaction(
        {
          operationId: `reseal:${globalThis.crypto.randomUUID()}`,
          transaction: { type: 'replace_suffix', expectedSuffix: raw, replacement: canonical },
        },
        ...rest,
      );
    } catch (error) {
      if (!isConflict(error, 'suffix_mismatch')) throw error;
    }
    return true;
  }

  #canonicalSuffix(texts: string[], kid: string): Promise<EncryptedItem[]> {
    const n = texts.length;
    return Promise.all(texts.map((text, i) => this.#seal(text, kid, `suffix\u0000${n - i}`)));
  }

  async applyHistoryMutations(args: unknown, rest: unknown[]): Promise<void> {
    const replacements = encodeHistoryMutations(args as HistoryMutationArgs);
    if (replacements.size === 0) return;
    // As the SDK does: the first call with the id is replaced, later ones with the same id dropped.
    const replaced = new Set<string>();
    await this.#rewrite(
      'mutation',
      rest,
      async (item) => {
        if (item?.type !== 'function_call' || typeof item.callId !== 'string') return undefined;
        const text = replacements.get(item.callId);
        if (text === undefined) return undefined;
        if (replaced.has(item.callId)) return null;
        replaced.add(item.callId);
        return text === encodeItem(item) ? undefined : this.#seal(text);
      },
      () => replaced.clear(),
    );
  }

  async reencrypt(): Promise<number> {
    if (!hasMethod(this.#inner, 'applyHistoryTransaction')) {
      throw new SessionValidationError('reencrypt() needs a session with applyHistoryTransaction');
    }
    return this.#rewrite('reencrypt', [], async (item, raw) =>
      isEnvelope(raw) && raw.kid === this.#keys.writerId ? undefined : this.#seal(encodeItem(item)),
    );
  }

  /**
   * Reads the whole history, replaces the items `change` returns a new sealed form for, and
   * swaps the changed suffix with a conditional transaction; re-read and retried on a race.
   */
  async #rewrite(
    label: string,
    rest: unknown[],
    change: (item: AgentInputItem, raw: unknown) => Promise<EncryptedItem | undefined | null>,
    startOver: () => void = () => {},
  ): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      startOver();
      const raw: unknown[] = await this.#inner.getItems(undefined, ...rest);
      const opened = await Promise.all(raw.map((item) => this.#open(item)));
      // `undefined` keeps an item, `null` drops it, an envelope replaces it.
      const next: unknown[] = [];
      let changed = 0;
      for (const [i, result] of opened.entries()) {
        if (!result.ok) {
          const error = await this.#error(result, i, raw.length);
          if (this.#keys.policy === 'throw') throw error;
          this.#report(error);
          next.push(raw[i]);
          continue;
        }
        const sealed = await change(result.item, raw[i]);
        if (sealed === undefined) next.push(raw[i]);
        else {
          if (sealed !== null) next.push(sealed);
          changed++;
        }
      }
      let first = 0;
      while (first < raw.length && first < next.length && next[first] === raw[first]) first++;
      if (first === raw.length && first === next.length) return 0;
      try {
        await this.#inner.applyHistoryTransaction(
          {
            operationId: `${label}:${globalThis.crypto.randomUUID()}`,
            transaction: { type: 'replace_suffix', expectedSuffix: raw.slice(first), replacement: next.slice(first) },
          },
          ...rest,
        );
        return changed;
      } catch (error) {
        if (!isConflict(error, 'suffix_mismatch') || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /** Opens every raw item; applies the unreadable policy, naming the first failure's position. */
  async #readable(raw: unknown[]): Promise<AgentInputItem[]> {
    const opened = await Promise.all(raw.map((item) => this.#open(item)));
    const items: AgentInputItem[] = [];
    for (const [i, result] of opened.entries()) {
      if (result.ok) {
        items.push(result.item);
        continue;
      }
      const error = await this.#error(result, i, raw.length);
      if (this.#keys.policy === 'throw') throw error;
      this.#report(error);
    }
    return items;
  }

  #report(error: SessionDecryptionError): void {
    const policy = this.#keys.policy;
    if (typeof policy === 'function') policy(error);
  }

  async #error(
    failure: Extract<Opened, { ok: false }>,
    position: number,
    count: number,
  ): Promise<SessionDecryptionError> {
    return new SessionDecryptionError(
      {
        reason: failure.reason,
        sessionId: await this.#id(),
        position,
        count,
        keyId: failure.kid,
        detail: failure.detail,
      },
      { cause: failure.cause },
    );
  }

  async #id(): Promise<string> {
    this.#sessionId ??= String(await this.#inner.getSessionId());
    return this.#sessionId;
  }

  #derive(kid: string): Promise<SessionKeys> {
    let keys = this.#sessionKeys.get(kid);
    if (!keys) {
      keys = this.#id().then((sessionId) => deriveSessionKeys(this.#keys, kid, sessionId));
      keys.catch(() => this.#sessionKeys.delete(kid));
      this.#sessionKeys.set(kid, keys);
    }
    return keys;
  }

  async #seal(text: string, kid = this.#keys.writerId, ivLabel?: string): Promise<EncryptedItem> {
    return seal(this.#keys, await this.#derive(kid), kid, text, ivLabel);
  }

  #open(raw: unknown): Promise<Opened> {
    return open(this.#keys, raw, (kid) => this.#derive(kid));
  }
}
