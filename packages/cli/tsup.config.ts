import { defineConfig } from 'tsup';
import { libraryConfig } from '../../tsup.base.ts';

export default defineConfig([
  libraryConfig({ index: 'src/index.ts' }),
  libraryConfig(
    { bin: 'src/bin.ts' },
    { format: ['esm'], dts: false, clean: false, banner: { js: '#!/usr/bin/env node' } },
  ),
]);
