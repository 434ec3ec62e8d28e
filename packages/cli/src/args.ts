/** Argument readers shared by the commands: numbers with their flag's name in the error, ids one per line. */
import { createInterface } from 'node:readline';

export function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** One id per line (a trailing CR is dropped; blank lines are skipped; nothing else is trimmed). */
export async function* readIds(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) if (line.length > 0) yield line;
  } finally {
    lines.close();
  }
}
