/**
 * The previous release of a backend — its source as of the commit before "<backend>: the session
 * catalog" (or the committed HEAD while that commit has not landed) — bundled with the core of the
 * same commit, so that `addItems(1)` with and without the catalog's bookkeeping can be timed side
 * by side in one run, on one server. Read-only on git (`git log`, `git archive`); the bundle goes
 * to `bench/node_modules/.cache/`, where the drivers resolve from the bench's own dependencies.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeError } from './timing.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CACHE = fileURLToPath(new URL('../node_modules/.cache/sessions-bench-previous/', import.meta.url));
const DRIVERS = ['@libsql/client', 'postgres', 'redis', '@redis/*', 'mongodb', '@aws-sdk/*', '@smithy/*'];

export interface PreviousRelease {
  /** What was built, e.g. `@sessions/redis at 1a2b3c4 (before "redis: the session catalog")`. */
  label: string;
  /** The commit the source comes from. */
  commit: string;
  module: Record<string, unknown>;
}

/**
 * `packageDir` is the folder under `packages/` (`core` for the in-memory store), `subject` the
 * prefix of its catalog commit's subject line (`redis`, `core`, …), `entry` the module that
 * exports the store.
 */
export async function loadPrevious(
  packageDir: string,
  subject: string,
  entry = 'src/index.ts',
): Promise<PreviousRelease> {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8' }).trim();
  const landed = git('log', '-1', '--format=%H', '-E', `--grep=^${subject}: the session catalog`);
  const commit = git('rev-parse', landed ? `${landed}^` : 'HEAD');
  const short = commit.slice(0, 7);
  const label = `@sessions/${packageDir} at ${short} (${landed ? `before "${subject}: the session catalog"` : `HEAD: "${subject}: the session catalog" not committed yet`})`;
  const out = join(CACHE, `${packageDir}-${short}.mjs`);
  if (!existsSync(out)) {
    const work = mkdtempSync(join(tmpdir(), 'sessions-bench-previous-'));
    try {
      const paths = [
        'tsconfig.base.json',
        'packages/core',
        ...(packageDir === 'core' ? [] : [`packages/${packageDir}`]),
      ];
      const archive = execFileSync('git', ['archive', '--format=tar', commit, ...paths], {
        cwd: REPO,
        maxBuffer: 256 * 2 ** 20,
      });
      execFileSync('tar', ['-x', '-C', work], { input: archive });
      mkdirSync(CACHE, { recursive: true });
      execFileSync(
        join(REPO, 'node_modules', '.bin', 'esbuild'),
        [
          join(work, 'packages', packageDir, entry),
          '--bundle',
          '--platform=node',
          '--format=esm',
          '--target=node20',
          `--alias:@sessions/core=${join(work, 'packages', 'core', 'src', 'index.ts')}`,
          ...DRIVERS.map((d) => `--external:${d}`),
          `--outfile=${out}`,
          '--log-level=error',
        ],
        { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      throw new Error(`building ${label} failed: ${stderr.split('\n').slice(0, 3).join(' ') || describeError(error)}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const module = (await import(pathToFileURL(out).href)) as Record<string, unknown>;
  return { label, commit, module };
}
