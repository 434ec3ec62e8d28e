import { defineConfig } from 'tsup';
import { libraryConfig } from '../../tsup.base.ts';

export default defineConfig([
  libraryConfig({ index: 'src/index.ts' }),
  // The executable part, ESM only; bin/sessions.js loads it.
  libraryConfig({ bin: 'src/bin.ts' }, { format: ['esm'], dts: false, clean: false }),
]);
