#!/usr/bin/env -S npx tsx
// A terminal chat whose history lives in the session store named by one URL.
//   tsx src/main.ts [--store <url>] [--session <id>]   interactive (standard input is a terminal)
//   tsx src/main.ts --say "My name is Ada." ...         send messages (or /commands), print, exit
//   tsx src/main.ts < /dev/null                         scripted demo across two processes
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Agent, run, setTracingDisabled } from '@openai/agents';
import { type AgentInputItem, openSessionStore, redactUrl, type Session, type SessionStore } from '@sessions/core';
import { OfflineModel, textOf } from './offline-model.ts';

const HELP = `Usage: sessions-chat [--store <url>] [--session <id>] [--say <message>]... [--demo]

  --store <url>    where history lives (default: $SESSIONS_URL, else file:./chat.db)
                   memory:  file:./chat.db  redis://host:6379  postgres://user:pass@host/db
                   mongodb://host:27017/db  dynamodb://host:8000/table?region=us-east-1
  --session <id>   conversation to resume (default: "default"; the demo uses "demo")
  --say <message>  send this line (a message or a /command) instead of reading a terminal; repeatable
  --demo           run the scripted two-process demo (the default when stdin is not a terminal)

Commands: /history [n]  /undo  /clear  /help  /exit
Without OPENAI_API_KEY an offline model answers from the stored history.`;

const args = parseCommandLine();

const url = args.store ?? process.env.SESSIONS_URL ?? 'file:./chat.db';
const demo = args.demo || (!args.say && !process.stdin.isTTY);
const sessionId = args.session ?? (demo ? 'demo' : 'default');

const offline = !process.env.OPENAI_API_KEY;
// Offline, nothing may touch the network; the trace exporter would try to upload to OpenAI.
if (offline) setTracingDisabled(true);
const agent = new Agent({
  name: 'Assistant',
  instructions: 'You are a helpful assistant in a terminal chat. Answer briefly.',
  ...(offline ? { model: new OfflineModel() } : {}), // no model: the SDK's default OpenAI model
});

let store: SessionStore | undefined;
try {
  store = await openSessionStore(url);
  const session = store.session(sessionId);
  if (demo) await runDemo(session);
  else if (args.say) {
    for (const line of args.say) {
      console.log(`you> ${line}`);
      if ((await handle(session, line)) === 'exit') break;
    }
  } else await repl(session);
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await store?.close();
}

function parseCommandLine() {
  try {
    const { values } = parseArgs({
      options: {
        store: { type: 'string' },
        session: { type: 'string' },
        say: { type: 'string', multiple: true },
        demo: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (!values.help) return values;
    console.log(HELP);
    process.exit(0);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
}

/** One line of input: a /command or a message for the agent. */
async function handle(session: Session, line: string): Promise<'exit' | undefined> {
  const [command, arg] = line.trim().split(/\s+/, 2);
  switch (command) {
    case '':
      return;
    case '/exit':
    case '/quit':
      return 'exit';
    case '/help':
      console.log(HELP);
      return;
    case '/history':
      printHistory(await session.getItems(arg === undefined ? undefined : Number(arg)));
      return;
    case '/clear':
      await session.clearSession();
      console.log('(history cleared)');
      return;
    case '/undo':
      await undo(session);
      return;
  }
  if (command?.startsWith('/')) {
    console.log(`(unknown command ${command}; /help lists them)`);
    return;
  }
  const result = await run(agent, line, { session });
  console.log(`assistant> ${result.finalOutput ?? ''}`);
}

// Undo means "take back my last message": pop the newest items until the last user message is
// gone, so its reply (and any tool calls in between) goes with it. Popping only one item would
// leave the user message without its answer, and the next turn would see a dangling question.
// Several pops are not one atomic step; fine for one person at a terminal.
async function undo(session: Session) {
  const removed: AgentInputItem[] = [];
  for (let item = await session.popItem(); item; item = await session.popItem()) {
    removed.unshift(item);
    if ('role' in item && item.role === 'user') break;
  }
  if (removed.length === 0) console.log('(nothing to undo)');
  else console.log(`(undid the last exchange: ${removed.length} item(s) starting with "${textOf(removed[0]!)}")`);
}

function printHistory(items: AgentInputItem[]) {
  if (items.length === 0) console.log('(no history)');
  items.forEach((item, index) => {
    const who = 'role' in item ? item.role : item.type;
    const what = 'role' in item ? textOf(item) : JSON.stringify(item).slice(0, 100);
    console.log(`${String(index + 1).padStart(4)}. ${who.padEnd(10)} ${what}`);
  });
}

async function repl(session: Session) {
  console.log(`Session "${sessionId}" in ${redactUrl(url)}${offline ? ' (offline model)' : ''}. /help for commands.`);
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: 'you> ' });
  rl.on('SIGINT', () => rl.close()); // Ctrl-C ends the chat like Ctrl-D, so the store still closes
  rl.prompt();
  for await (const line of rl) {
    try {
      if ((await handle(session, line)) === 'exit') break;
    } catch (error) {
      console.error(`error: ${(error as Error).message}`); // e.g. the database is down: keep the chat
    }
    rl.prompt();
  }
  rl.close();
}

// Each turn runs in a fresh child process: the only thing the two processes share is the
// store, so the second one knowing the name proves the history was persisted.
async function runDemo(session: Session) {
  console.log(`Scripted demo (standard input is not a terminal): store ${redactUrl(url)}, session "${sessionId}".`);
  if (!args.session) await session.clearSession(); // the demo's own session starts empty; never clear one you named
  const turns = ['My name is Ada.', 'What is my name?'];
  for (const [index, message] of turns.entries()) {
    const child = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1]!, '--store', url, '--session', sessionId, '--say', message],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    console.log(`\n-- run ${index + 1}: a new process (pid ${child.pid}) --`);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject).once('exit', resolve);
    });
    if (code !== 0) throw new Error(`run ${index + 1} exited with code ${code}`);
  }
  console.log(`\n-- stored history of session "${sessionId}", read back by this process --`);
  printHistory(await session.getItems());
  const storeArg = args.store ? ` --store '${redactUrl(url)}'` : '';
  console.log(`\nContinue it in a terminal: npx tsx src/main.ts${storeArg} --session ${sessionId}`);
}
