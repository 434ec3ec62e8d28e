import type { CopyProgress } from '@sessions/core';
import type { CliIo } from './cli.js';
import { printable } from './output.js';

/**
 * Progress on stderr: on a terminal, one line rewritten in place (sessions done, and items
 * copied / total for each session in flight); otherwise one line per finished session.
 */
export class ProgressDisplay {
  readonly #stream: CliIo['stderr'];
  readonly #quiet: boolean;
  readonly #live: boolean;
  readonly #inFlight = new Map<string, CopyProgress>();
  #finished = 0;
  #shown = false;
  #lastDraw = 0;

  constructor(stream: CliIo['stderr'], quiet: boolean) {
    this.#stream = stream;
    this.#quiet = quiet;
    this.#live = stream.isTTY === true && !quiet;
  }

  update(progress: CopyProgress): void {
    if (this.#quiet) return;
    if (progress.finished) {
      this.#inFlight.delete(progress.sessionId);
      this.#finished++;
      if (!this.#live) {
        this.line(
          `✓ ${printable(progress.sessionId)}: ${progress.total} item(s), ${progress.total - progress.alreadyPresent} copied, ${progress.alreadyPresent} already there`,
        );
      }
    } else {
      this.#inFlight.set(progress.sessionId, progress);
    }
    if (!this.#live) return;
    const now = Date.now();
    if (!progress.finished && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const parts = [...this.#inFlight.values()].map((p) => `${printable(p.sessionId)} ${p.done}/${p.total}`);
    const text = `${this.#finished} done${parts.length > 0 ? ` · copying ${parts.join(', ')}` : ''}`;
    const width = Math.max(20, (this.#stream.columns ?? 80) - 1);
    this.#stream.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.#shown = true;
  }

  /** A permanent line (above the live one). */
  line(text: string): void {
    if (this.#quiet && !text.startsWith('✗')) return;
    this.clear();
    this.#stream.write(`${text}\n`);
  }

  clear(): void {
    if (this.#shown) this.#stream.write('\r\x1b[2K');
    this.#shown = false;
  }
}
