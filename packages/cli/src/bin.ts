import { createRequire } from 'node:module';
import { runCli } from './cli.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

// Drivers print their own warnings (the AWS SDK warns about Node versions): they belong on
// stderr, never between the lines of --json output on stdout.
console.warn = (...args: unknown[]) => process.stderr.write(`${args.map(String).join(' ')}\n`);
console.log = console.warn;

// The first Ctrl-C (or SIGTERM) stops after the pages in flight, so a re-run resumes cleanly;
// a second one quits at once.
const controller = new AbortController();
let signals = 0;
const stop = (signal: NodeJS.Signals) => {
  signals++;
  if (signals > 1) process.exit(130);
  process.stderr.write(`\nsessions: ${signal}: stopping after the current page (again to quit now)\n`);
  controller.abort(new Error(`interrupted by ${signal}`));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signal: controller.signal,
  version,
});
process.exitCode = code;
process.off('SIGINT', stop);
process.off('SIGTERM', stop);
// Should a driver keep a handle open after close(), do not hang: this timer only fires then.
setTimeout(() => process.exit(code), 3000).unref();
