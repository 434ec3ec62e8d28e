/**
 * What a new user does, done by the tests: the publishable packages packed as npm would get them,
 * installed with plain `npm install` into a folder outside the workspace, and programs run there
 * on Node 20, 22 or 24 with no network but this machine's test servers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BackendDescriptor } from '@sessions/core';

/** The monorepo's root folder. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** Kept between runs so that reruns install from the cache: npm's cache and the Node 22/24 binaries. */
export const CACHE_DIR = join(homedir(), '.cache', 'sessions-first-run');
const NPM_CACHE = join(CACHE_DIR, 'npm');

/** The `--import` preload of `offlineEnvironment`: loopback only, and an offline model for the SDK. */
export const OFFLINE_PRELOAD = fileURLToPath(new URL('./offline-preload.mjs', import.meta.url));

export type NodeMajor = 20 | 22 | 24;

export interface ExecOptions {
  /** The Node major that runs the program (and `node` in its PATH). Default 20. */
  node?: NodeMajor;
  /** Merged over the inherited environment (which never holds OPENAI_API_KEY or npm's variables). */
  env?: Record<string, string>;
  /** The child (and everything it started) is killed after this long. Default 60,000. */
  timeoutMs?: number;
  /** Working directory. Default: the project folder. */
  cwd?: string;
}

export interface ExecResult {
  /** The exit code; `null` when it was killed (a timeout, or a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Project {
  /** The project folder, under os.tmpdir(). */
  dir: string;
  /** How long its `npm install` took, in ms. */
  installMs: number;
  /**
   * Runs `file`: `node` is the Node binary of `options.node`; another name is taken from the
   * project's `node_modules/.bin` (else from PATH, e.g. `npm`), with that Node first in PATH.
   */
  exec(file: string, args: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Deletes the folder. */
  remove(): Promise<void>;
}

export interface CreateProjectOptions {
  /** Part of the folder name. */
  name: string;
  /** A folder to copy (without node_modules, dist, .turbo): e.g. an example. */
  copyFrom?: string;
  /** Without `copyFrom`: merged into a new package.json after `"type": "module"`. */
  packageJson?: Record<string, unknown>;
}

interface WorkspacePackage {
  name: string;
  version: string;
  dir: string;
  manifest: Record<string, unknown>;
}

/** Every package under packages/ that is published (not `private`). */
export function publishablePackages(): WorkspacePackage[] {
  const root = join(REPO_ROOT, 'packages');
  const found: WorkspacePackage[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const file = join(root, entry.name, 'package.json');
    if (!entry.isDirectory() || !existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (manifest.private === true) continue;
    found.push({ name: String(manifest.name), version: String(manifest.version), dir: dirname(file), manifest });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The descriptor of every backend package (its `./descriptor` export), loaded synchronously
 * from the built CommonJS files, which import no driver.
 */
export function backendDescriptors(): BackendDescriptor[] {
  const require = createRequire(import.meta.url);
  return publishablePackages()
    .filter((pkg) => Object.hasOwn((pkg.manifest.exports ?? {}) as object, './descriptor'))
    .map((pkg) => {
      try {
        return (require(`${pkg.name}/descriptor`) as { descriptor: BackendDescriptor }).descriptor;
      } catch (error) {
        throw new Error(
          `cannot load ${pkg.name}/descriptor: is ${pkg.name} built, and a devDependency of @sessions/first-run ` +
            `(so that turbo builds it first)? ${(error as Error).message}`,
        );
      }
    });
}

let packed: Promise<Map<string, string>> | undefined;

/**
 * `pnpm pack` of every publishable package into one temp folder, once per process: package name →
 * absolute path of its .tgz. pnpm writes real version ranges where the manifests say `workspace:`,
 * so the tarballs are what npm users get. The packages must be built (turbo's `^build`).
 */
export function packWorkspace(): Promise<Map<string, string>> {
  packed ??= (async () => {
    const destination = await packFolder();
    const packages = publishablePackages();
    const tarballs = await Promise.all(
      packages.map(async (pkg) => {
        const files = (pkg.manifest.files ?? []) as string[];
        if (files.includes('dist') && !existsSync(join(pkg.dir, 'dist'))) {
          throw new Error(`${pkg.name} is not built (no dist/): run \`pnpm turbo run build\` first`);
        }
        const result = await run('pnpm', ['pack', '--pack-destination', destination], {
          cwd: pkg.dir,
          env: cleanEnvironment(),
          timeoutMs: 120_000,
        });
        const tarball = join(destination, `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`);
        if (result.code !== 0 || !existsSync(tarball)) {
          throw new Error(`pnpm pack of ${pkg.name} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
        }
        return [pkg.name, tarball] as const;
      }),
    );
    return new Map(tarballs);
  })();
  return packed;
}

/**
 * A folder for this process's tarballs: <tmp>/sessions-packed/<pid>-…, removed when the process
 * exits. Vitest may end a worker without an 'exit' event, so folders of processes that are gone
 * are removed here too.
 */
async function packFolder(): Promise<string> {
  const root = join(tmpdir(), 'sessions-packed');
  await mkdir(root, { recursive: true });
  for (const name of readdirSync(root)) {
    const pid = Number(name.split('-')[0]);
    if (Number.isSafeInteger(pid) && pid !== process.pid && !isAlive(pid)) {
      await rm(join(root, name), { recursive: true, force: true });
    }
  }
  const folder = await mkdtemp(join(root, `${process.pid}-`));
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  return folder;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A fresh npm project under os.tmpdir(): a copy of `copyFrom` or a new package.json. Every
 * `@sessions/*` dependency in it is rewritten to its packed tarball (and pinned there for
 * transitive use with `overrides`), then `npm install` runs with the shared cache.
 */
export async function createProject(options: CreateProjectOptions): Promise<Project> {
  const packs = await packWorkspace();
  const dir = await mkdtemp(join(tmpdir(), `sessions-first-run-${options.name.replace(/[^\w.-]+/g, '-')}-`));
  try {
    await writeManifest(dir, options, packs);
    const started = performance.now();
    await npmInstall(dir, []);
    const installMs = performance.now() - started;
    return {
      dir,
      installMs,
      exec: (file, args, execOptions = {}) => execIn(dir, file, args, execOptions),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The project's files and a package.json whose @sessions/* dependencies are the tarballs. */
async function writeManifest(dir: string, options: CreateProjectOptions, packs: Map<string, string>): Promise<void> {
  const manifestFile = join(dir, 'package.json');
  if (options.copyFrom) {
    const source = resolve(options.copyFrom);
    const skipped = new Set(['node_modules', 'dist', '.turbo']);
    await cp(source, dir, { recursive: true, filter: (path) => path === source || !skipped.has(basename(path)) });
  } else {
    const name = `first-run-${options.name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-')}`;
    const manifest = { name, version: '0.0.0', private: true, type: 'module', ...options.packageJson };
    await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  }

  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Record<string, unknown>;
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const dependencies = manifest[field] as Record<string, string> | undefined;
    for (const name of Object.keys(dependencies ?? {})) {
      if (!name.startsWith('@sessions/')) continue;
      const tarball = packs.get(name);
      if (!tarball) {
        throw new Error(
          `${options.name}: ${field} has ${name}, which is not a published package (private or unknown): ` +
            'npm cannot install it outside the workspace',
        );
      }
      dependencies![name] = `file:${tarball}`;
    }
  }
  // A package that depends on another @sessions package (^0.1.0) gets the tarball, never the registry.
  manifest.overrides = {
    ...(manifest.overrides as object | undefined),
    ...Object.fromEntries([...packs].map(([name, tarball]) => [name, `file:${tarball}`])),
  };
  await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
}

const nodeBinaries = new Map<NodeMajor, Promise<string>>();

/**
 * The Node binary of a major version: the running one when it is that major (Node 20 in this
 * repository), else the npm `node@<major>` package, installed once into ~/.cache/sessions-first-run.
 */
export function nodeBinary(major: NodeMajor): Promise<string> {
  let binary = nodeBinaries.get(major);
  if (!binary) {
    binary =
      process.versions.node.split('.')[0] === String(major) ? Promise.resolve(process.execPath) : installNode(major);
    nodeBinaries.set(major, binary);
  }
  return binary;
}

async function installNode(major: NodeMajor): Promise<string> {
  const dir = join(CACHE_DIR, `node${major}`);
  const binaryIn = (folder: string) => join(folder, 'node_modules', 'node', 'bin', 'node');
  if (await isNodeOfMajor(binaryIn(dir), major)) return binaryIn(dir);

  // Installed beside the final folder and renamed into place, so that two test processes
  // installing at once never see a half-installed binary.
  await mkdir(CACHE_DIR, { recursive: true });
  const staging = await mkdtemp(join(CACHE_DIR, `node${major}.staging-`));
  try {
    await writeFile(join(staging, 'package.json'), '{ "private": true }\n');
    await npmInstall(staging, [`node@${major}`]);
    if (!(await isNodeOfMajor(binaryIn(staging), major))) {
      throw new Error(
        `npm install node@${major} gave no working Node ${major} binary at ${binaryIn(staging)} ` +
          '(the package downloads it in its preinstall script: were install scripts disabled?)',
      );
    }
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process renamed its copy first: use that one.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  if (!(await isNodeOfMajor(binaryIn(dir), major))) throw new Error(`no Node ${major} at ${binaryIn(dir)}`);
  return binaryIn(dir);
}

async function isNodeOfMajor(binary: string, major: NodeMajor): Promise<boolean> {
  if (!existsSync(binary)) return false;
  const result = await run(binary, ['--version'], { env: cleanEnvironment(), timeoutMs: 20_000 });
  return result.code === 0 && result.stdout.trim().startsWith(`v${major}.`);
}

/**
 * The environment of every doc-test or example run: the test servers' URLs under the variables
 * the backends' descriptors name (`REDIS_URL`, `POSTGRES_URL`, …), tracing off, and a preload
 * that refuses connections to any host but this machine and makes the Agents SDK's default model
 * an offline one, so `run(agent, input, { session })` works with no network and no API key.
 * (OPENAI_API_KEY is never passed on: `exec` drops it.)
 */
export function offlineEnvironment(serviceUrls: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    OPENAI_AGENTS_DISABLE_TRACING: '1',
    NODE_OPTIONS: `--import=${pathToFileURL(OFFLINE_PRELOAD).href}`,
  };
  for (const descriptor of backendDescriptors()) {
    const url = serviceUrls[descriptor.testServer.service];
    if (url) env[descriptor.testServer.env] = url;
  }
  return env;
}

async function execIn(dir: string, file: string, args: string[], options: ExecOptions): Promise<ExecResult> {
  const node = await nodeBinary(options.node ?? 20);
  const bin = join(dir, 'node_modules', '.bin');
  const command = file === 'node' ? node : existsSync(join(bin, file)) ? join(bin, file) : file;
  const path = [dirname(node), bin, options.env?.PATH ?? process.env.PATH ?? ''].join(delimiter);
  return run(command, args, {
    cwd: options.cwd ?? dir,
    env: { ...cleanEnvironment(), ...options.env, PATH: path },
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

async function npmInstall(dir: string, packages: string[]): Promise<void> {
  const base = ['install', '--no-audit', '--no-fund', '--cache', NPM_CACHE, ...packages];
  const env = cleanEnvironment();
  // From the cache when it can (fast reruns); a cache too old for a range is refreshed once.
  let result = await run('npm', [...base, '--prefer-offline'], { cwd: dir, env, timeoutMs: 600_000 });
  if (result.code !== 0) result = await run('npm', base, { cwd: dir, env, timeoutMs: 600_000 });
  if (result.code !== 0) {
    throw new Error(`npm install in ${dir} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

/**
 * The inherited environment without what would make a child differ from a user's shell: no
 * OpenAI credentials, no variables pnpm/npm/vitest set for their own children.
 */
function cleanEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(OPENAI_|npm_|VITEST|NODE_OPTIONS$|TEST$)/i.test(key)) continue;
    env[key] = value;
  }
  if (env.NODE_ENV === 'test') delete env.NODE_ENV;
  env.npm_config_update_notifier = 'false';
  return env;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) killTree(child);
});

function killTree(child: ChildProcess): void {
  try {
    // Its own process group (detached): tsx and npm start grandchildren that must end too.
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

const MAX_OUTPUT = 1_000_000;

function run(
  command: string,
  args: string[],
  options: { cwd?: string; env: Record<string, string>; timeoutMs: number },
): Promise<ExecResult> {
  return new Promise((done) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: 'pipe' });
    running.add(child);
    child.stdin?.end();
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child);
    }, options.timeoutMs);
    let finished = false;
    const finish = (code: number | null, note?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // Whatever the program left running in its group (a server it started) ends with it.
      killTree(child);
      running.delete(child);
      if (timedOut) stderr += `\n[first-run] killed after ${options.timeoutMs} ms: ${command} ${args.join(' ')}`;
      if (note) stderr += `\n[first-run] ${note}`;
      done({ code: timedOut ? null : code, stdout, stderr });
    };
    child.once('error', (error) => finish(null, `could not start ${command}: ${error.message}`));
    child.once('close', (code) => finish(code));
  });
}
