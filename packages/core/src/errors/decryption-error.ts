import { ERROR_KIND } from './brand.js';
import { SessionCorruptDataError } from './session-errors.js';

export type DecryptionFailureReason = 'unknown_key' | 'authentication_failed' | 'malformed' | 'not_encrypted';

export interface SessionDecryptionErrorDetails {
  reason: DecryptionFailureReason;
  sessionId: string;
  /** Index of the item among the items read (0 = oldest read); for a full read, its position in the history. */
  position: number;
  /** How many items were read. */
  count: number;
  /** Key id recorded with the item, when it has one. */
  keyId?: string | undefined;
  detail?: string | undefined;
}

/**
 * A stored item could not be decrypted: tampered with, sealed under another key than the one
 * with its id (or another encryption `context`), under a key id that is not configured, or not
 * an encrypted item at all. `code` is `'CORRUPT_DATA'` (it is a {@link SessionCorruptDataError}).
 */
export class SessionDecryptionError extends SessionCorruptDataError {
  static override readonly [ERROR_KIND]: string = 'SessionDecryptionError';
  readonly reason: DecryptionFailureReason;
  readonly sessionId: string;
  /** Index among the items read (0 = oldest read). */
  readonly position: number;
  /** 1 = the newest item of the session, 2 = the one before, ... */
  readonly fromEnd: number;
  readonly keyId: string | undefined;

  constructor(details: SessionDecryptionErrorDetails, options?: { cause?: unknown }) {
    const fromEnd = details.count - details.position;
    const where = `item ${details.position} of the ${details.count} read from session ${JSON.stringify(details.sessionId)} (${fromEnd === 1 ? 'the newest item' : `${fromEnd} from the end`})`;
    super(`Cannot decrypt ${where}: ${explain(details)}`, options);
    this.reason = details.reason;
    this.sessionId = details.sessionId;
    this.position = details.position;
    this.fromEnd = fromEnd;
    this.keyId = details.keyId;
  }
}

function explain({ reason, keyId, detail }: SessionDecryptionErrorDetails): string {
  switch (reason) {
    case 'unknown_key':
      return `it was sealed under key id ${JSON.stringify(keyId)}, which is not among the configured keys`;
    case 'authentication_failed':
      return `authentication failed under key id ${JSON.stringify(keyId)}: the item was altered, or the key (or context) configured under that id is not the one that sealed it`;
    case 'not_encrypted':
      return 'it is not an encrypted item (pass allowUnencrypted: true to read items stored before encryption was enabled)';
    default:
      return `it is not a well-formed encrypted item${detail ? ` (${detail})` : ''}`;
  }
}
