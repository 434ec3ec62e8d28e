import { ensureBuilt } from './build.js';

/** Once, before any test file: the built package is current (see build.ts). */
export default function setup(): void {
  ensureBuilt();
}
