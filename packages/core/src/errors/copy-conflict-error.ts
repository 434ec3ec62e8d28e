import { ERROR_KIND } from './brand.js';
import { SessionConflictError } from './session-errors.js';

/**
 * A copy found a destination that holds history which is not a prefix of the source; nothing was
 * written. A `SessionConflictError` with reason `destination_diverged`.
 */
export class SessionCopyConflictError extends SessionConflictError {
  static override readonly [ERROR_KIND]: string = 'SessionCopyConflictError';
  readonly sessionId: string;
  /** Items in the destination. */
  readonly destinationLength: number;
  /** How many leading items of the destination equal the source's. */
  readonly matchingPrefix: number;

  constructor(sessionId: string, destinationLength: number, matchingPrefix: number, sourceLength: number, when = '') {
    super(
      'destination_diverged',
      `Cannot copy session ${JSON.stringify(sessionId)}: the destination${when} holds ${destinationLength} items of which only the first ${matchingPrefix} match the source's ${sourceLength}; pass overwrite: true to replace it`,
    );
    this.sessionId = sessionId;
    this.destinationLength = destinationLength;
    this.matchingPrefix = matchingPrefix;
  }
}
