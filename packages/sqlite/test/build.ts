import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * Tests that run the built package (child processes, bundles of dist/) need it current: rebuild it
 * if it is missing or older than src/. global-setup.ts does this once before any test file starts,
 * so that test files running in parallel do not each start a build (tsup cleans dist/ first).
 */
export function ensureBuilt(): void {
  const built = join(packageDir, 'dist', 'index.js');
  const newestSource = Math.max(
    ...readdirSync(join(packageDir, 'src'), { recursive: true, encoding: 'utf8' }).map(
      (name) => statSync(join(packageDir, 'src', name)).mtimeMs,
    ),
  );
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource) return;
  execFileSync('pnpm', ['run', 'build'], { cwd: packageDir, stdio: 'ignore' });
}
