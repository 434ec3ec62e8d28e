// `npm run smoke`: the scripted two-process demo on a temporary SQLite file, with the offline model
// (no API key, no network), checked: exits 0 only if the second process recalled the name that the
// first one was told, which it can only have learned from the store.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'chat-cli-smoke-'));
const store = `file:${join(dir, 'chat.db')}`;
const started = Date.now();

try {
  // Without OPENAI_API_KEY the example uses its offline model, even where a key is set.
  const { OPENAI_API_KEY: _key, ...env } = process.env;
  // process.execArgv carries tsx's loader, as the demo's own child processes do.
  const child = spawn(process.execPath, [...process.execArgv, main, '--demo', '--store', store], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    process.stdout.write(chunk);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000); // three Node processes; never hang
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject).once('close', resolve);
  });
  clearTimeout(timer);

  if (code !== 0) throw new Error(`the demo exited with code ${code}`);
  if (!output.includes('assistant> Your name is Ada.')) {
    throw new Error('the second process did not recall the name ("assistant> Your name is Ada." is missing)');
  }
  console.log(
    `\nsmoke ok on Node ${process.version}: the second process recalled "Ada" from ${store} (${Date.now() - started} ms)`,
  );
} catch (error) {
  console.error(`\nsmoke FAILED: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
