// The README code runs as a new user would run it: every complete block of every README and doc is
// written into one npm project outside the workspace (the packed tarballs, the drivers, the SDK and
// tsx installed with npm) and run with tsx on Node 20, 22 and 24 against the test servers, offline.
// A block passes when it exits 0 in time. Blocks of one file run one after another (they may share a
// session id such as 'user-42'); files run side by side, each on its own PostgreSQL database.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  type CodeBlock,
  codeBlocks,
  documentationBlocks,
  FLAGS,
  relativeLinks,
  unshippedPaths,
} from '../src/doc-blocks.ts';
import {
  createProject,
  type ExecResult,
  type NodeMajor,
  nodeBinary,
  offlineEnvironment,
  type Project,
  publishablePackages,
  REPO_ROOT,
} from '../src/harness.ts';

const NODE_VERSIONS: NodeMajor[] = [20, 22, 24];
const BLOCK_TIMEOUT_MS = 60_000;
// A test waits for the runs queued before its own (each bounded by BLOCK_TIMEOUT_MS), so its own
// limit is the whole queue's, not one run's.
const QUEUE_TIMEOUT_MS = 30 * 60_000;
// Each run is mostly CPU (tsx compiles, the SDK loads): about one per core, at least two.
const CONCURRENCY = Math.max(2, availableParallelism());

const blocks = documentationBlocks(REPO_ROOT);
const complete = blocks.filter((block) => !block.flags.includes('fragment'));
const versionsOf = (flags: string[]): NodeMajor[] => (flags.includes('node24') ? [24] : NODE_VERSIONS);
const blockName = (block: { file: string; line: number }) => `${block.file}:${block.line}`;

/** What the project installs: the packages, each backend's driver at its tested version, the SDK, tsx. */
async function projectDependencies(): Promise<Record<string, string>> {
  const dependencies: Record<string, string> = {};
  for (const pkg of publishablePackages()) {
    dependencies[pkg.name] = pkg.version; // rewritten to the packed tarball by createProject
    const peers = (pkg.manifest.peerDependencies ?? {}) as Record<string, string>;
    const dev = (pkg.manifest.devDependencies ?? {}) as Record<string, string>;
    const optional = (pkg.manifest.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean }>;
    for (const driver of Object.keys(peers)) {
      if (optional[driver]?.optional || !dev[driver]) continue; // vitest, fast-check: not for README code
      dependencies[driver] = dev[driver];
    }
  }
  const example = JSON.parse(await readFile(join(REPO_ROOT, 'examples/chat-cli/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const name of ['@openai/agents', 'zod', 'tsx']) {
    const version = example.dependencies[name];
    if (!version) throw new Error(`examples/chat-cli/package.json has no ${name}: the README code needs it`);
    dependencies[name] = version;
  }
  return dependencies;
}

/** Runs of one file in order, files side by side, at most `limit` runs at a time. */
function scheduler(limit: number) {
  const lanes = new Map<string, Promise<unknown>>();
  let active = 0;
  const waiting: (() => void)[] = [];
  const slot = async () => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
  };
  const release = () => {
    active--;
    waiting.shift()?.();
  };
  return <T>(lane: string, task: () => Promise<T>): Promise<T> => {
    const run = (lanes.get(lane) ?? Promise.resolve()).then(async () => {
      await slot();
      try {
        return await task();
      } finally {
        release();
      }
    });
    lanes.set(
      lane,
      run.catch(() => {}),
    );
    return run;
  };
}

describe('the block extractor', () => {
  test('reads fences, info strings and lines', () => {
    const markdown = ['# t', '```ts', 'a();', '```', '', '~~~~js fragment', '```', '~~~~', '```ts node24', '```'];
    expect(codeBlocks('x.md', markdown.join('\n'))).toEqual([
      { file: 'x.md', line: 2, language: 'ts', flags: [], code: 'a();' },
      { file: 'x.md', line: 6, language: 'js', flags: ['fragment'], code: '```' },
      { file: 'x.md', line: 9, language: 'ts', flags: ['node24'], code: '' },
    ]);
  });

  test('the link checker finds relative links and unshipped paths, outside code blocks', () => {
    const markdown = [
      '[a](../core/README.md) [b](https://example.com/src/a.ts) [c](#options) <a href="docs/x.md">x</a>',
      '[ref]: ./bench/results.md',
      'see `src/errors.ts` and test/faults.test.ts, not contest/ or https://example.com/test/x',
      '```ts',
      "import './src/x.ts';",
      '```',
    ].join('\n');
    expect(relativeLinks(markdown)).toEqual(['../core/README.md', './bench/results.md', 'docs/x.md']);
    expect(unshippedPaths(markdown)).toEqual(['src/errors.ts', 'test/faults.test.ts']);
  });

  test('finds the TypeScript blocks of the documentation', () => {
    const counts = {
      complete: complete.filter((block) => !block.flags.includes('node24')).length,
      node24: blocks.filter((block) => block.flags.includes('node24')).length,
      fragment: blocks.filter((block) => block.flags.includes('fragment')).length,
    };
    console.log(`[readme] blocks: ${JSON.stringify(counts)}`);
    expect(counts.complete).toBeGreaterThan(0);
    expect(counts.node24).toBeGreaterThan(0);
  });

  test('every info-string flag is fragment or node24, never both', () => {
    const wrong = blocks
      .filter((block) => block.flags.some((flag) => !FLAGS.has(flag)) || block.flags.length > 1)
      .map((block) => `${blockName(block)}: ${block.language} ${block.flags.join(' ')}`);
    expect(wrong).toEqual([]);
  });
});

test('this package depends on every published package, so that turbo builds them before these tests', async () => {
  const manifest = JSON.parse(await readFile(join(REPO_ROOT, 'packages/first-run/package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const missing = publishablePackages().filter((pkg) => !manifest.devDependencies[pkg.name]);
  expect(missing.map((pkg) => pkg.name)).toEqual([]);
});

describe('package READMEs stand alone on npm', () => {
  for (const pkg of publishablePackages()) {
    const file = `packages/${pkg.dir.split(/[\\/]/).at(-1)}/README.md`;
    test(`${file}: no relative link, no src/ or test/ path`, async () => {
      // npm shows the README as the package's page: a published package needs one.
      expect(existsSync(join(REPO_ROOT, file)), `${file} is missing`).toBe(true);
      const markdown = await readFile(join(REPO_ROOT, file), 'utf8');
      expect({ relativeLinks: relativeLinks(markdown), unshippedPaths: unshippedPaths(markdown) }).toEqual({
        relativeLinks: [],
        unshippedPaths: [],
      });
    });
  }
});

describe('README code runs on the packed packages', () => {
  const runs: { name: string; node: NodeMajor; ms: number }[] = [];
  const runId = `docs_${Date.now().toString(36)}_${process.pid}`;
  const databases: string[] = [];
  const schedule = scheduler(CONCURRENCY);
  let project: Project | undefined;
  let admin: postgres.Sql | undefined;
  let blockDir = '';
  const envOf = new Map<string, Record<string, string>>();
  let firstStarted = 0;

  beforeAll(async () => {
    const serviceUrls = inject('serviceUrls');
    const setupStarted = performance.now();
    const [created] = await Promise.all([
      createProject({ name: 'readme', packageJson: { dependencies: await projectDependencies() } }),
      nodeBinary(22),
      nodeBinary(24),
    ]);
    project = created;
    console.log(
      `[readme] npm install ${(project.installMs / 1000).toFixed(1)} s; setup ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
    );
    blockDir = join(project.dir, 'blocks');
    await mkdir(blockDir);

    const base: Record<string, string> = {
      ...offlineEnvironment(serviceUrls),
      // An encryption key for the examples of withEncryption (`openssl rand -base64 32`).
      SESSIONS_KEY: randomBytes(32).toString('base64'),
      // The DynamoDB README's AWS code reaches DynamoDB Local through the AWS SDK's standard
      // endpoint variable and static credentials, as a user's CI would point it there.
      AWS_ENDPOINT_URL_DYNAMODB: serviceUrls.dynamodb ?? '',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      // Node 22/24 keep compiled code here, so the SDK is not compiled again for every block.
      NODE_COMPILE_CACHE: join(project.dir, '.node-compile-cache'),
    };
    // Files that use PostgreSQL each get a database of their own: the core README's encrypted
    // 'user-42' must not meet the postgres README's plain one.
    const postgresUrl = serviceUrls.postgres;
    if (!postgresUrl) throw new Error('no postgres test server');
    admin = postgres(postgresUrl, { max: 1, onnotice: () => {} });
    for (const file of new Set(complete.map((block) => block.file))) {
      const env = { ...base };
      if (complete.some((block) => block.file === file && /POSTGRES_URL|POOLED_DATABASE_URL/.test(block.code))) {
        const name = `${runId}_${file.replace(/\W+/g, '_')}`.toLowerCase().slice(0, 63);
        await admin.unsafe(`CREATE DATABASE "${name}"`);
        databases.push(name);
        const url = new URL(postgresUrl);
        url.pathname = `/${name}`;
        env.POSTGRES_URL = url.href;
        // No pooler among the test servers: `prepare: false` runs against PostgreSQL directly
        // here (packages/postgres tests it through PgBouncer).
        env.POOLED_DATABASE_URL = url.href;
      }
      envOf.set(file, env);
    }
  });

  afterAll(async () => {
    if (runs.length > 0) {
      const perNode = NODE_VERSIONS.map((node) => {
        const ms = runs.filter((run) => run.node === node).reduce((sum, run) => sum + run.ms, 0);
        return `Node ${node}: ${(ms / 1000).toFixed(1)} s`;
      });
      const wall = ((performance.now() - firstStarted) / 1000).toFixed(1);
      console.log(
        `[readme] ${runs.length} runs in ${wall} s (${CONCURRENCY} at a time); summed per version: ${perNode.join(', ')}`,
      );
    }
    for (const name of databases) await admin?.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    await admin?.end();
    await project?.remove();
  });

  /** Runs one block with tsx, in a working directory of its own (a block's SQLite file is its own). */
  async function runBlock(block: CodeBlock, node: NodeMajor): Promise<ExecResult> {
    if (!project) throw new Error('no project: the setup failed');
    firstStarted ||= performance.now();
    const extension = block.language.startsWith('t') ? 'ts' : 'js';
    const file = join(blockDir, `${block.file.replace(/\W+/g, '-')}-L${block.line}-node${node}.${extension}`);
    await writeFile(file, `${block.code}\n`);
    const cwd = await mkdtemp(join(tmpdir(), 'sessions-readme-block-'));
    const started = performance.now();
    try {
      const env = envOf.get(block.file)!;
      return await project.exec('tsx', [file], { node, env, cwd, timeoutMs: BLOCK_TIMEOUT_MS });
    } finally {
      runs.push({ name: blockName(block), node, ms: performance.now() - started });
      await rm(cwd, { recursive: true, force: true });
    }
  }

  // Concurrent tests, so that `-t` runs only the blocks it names; the scheduler keeps the blocks of
  // one file in order and bounds how many run at once.
  for (const block of complete) {
    for (const node of versionsOf(block.flags)) {
      test.concurrent(
        `${blockName(block)} on Node ${node}`,
        async ({ expect }) => {
          const result = await schedule(block.file, () => runBlock(block, node));
          const report = `${blockName(block)} on Node ${node} exited ${result.code}\n--- stderr ---\n${result.stderr}\n--- stdout ---\n${result.stdout}`;
          expect(result.code, report).toBe(0);
        },
        QUEUE_TIMEOUT_MS,
      );
    }
  }
});
