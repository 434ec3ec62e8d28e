/** How the CLI prints what it did not write itself: errors masked, ids with control characters escaped. */
import { redactSecrets, SessionCopyConflictError, SessionError } from '@sessions/core';

/** An error for humans: our errors are masked when built; anything else is masked here. */
export function describe(error: unknown): string {
  // The library's message names the option; on the command line it is a flag.
  if (error instanceof SessionCopyConflictError) return error.message.replace('overwrite: true', '--overwrite');
  if (error instanceof SessionError) return error.message;
  if (error instanceof Error) return redactSecrets(error.message || error.name);
  return redactSecrets(String(error));
}

/** A session id as printed on a terminal: as it is, with control characters escaped. */
export function printable(sessionId: string): string {
  return sessionId.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping them is the point.
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
