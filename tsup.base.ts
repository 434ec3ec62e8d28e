import type { Options } from 'tsup';

/** Every published package builds the same way: ESM + CommonJS with types, for Node 20+. */
export function libraryConfig(entry: Record<string, string>, extra: Partial<Options> = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    ...extra,
  };
}
