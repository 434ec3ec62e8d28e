import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { CLIENT_MODULE, clientModuleSource } from './scripts/bundle-client.ts';

export default defineConfig({
  plugins: [
    {
      name: 'studio-client',
      resolveId: (id) => (id === CLIENT_MODULE ? `\0${CLIENT_MODULE}` : undefined),
      load: async (id) => (id === `\0${CLIENT_MODULE}` ? (await clientModuleSource()).contents : undefined),
    },
  ],
  resolve: {
    // The CLI's `studio` command imports the package by name: in these tests, this source.
    alias: { '@sessions/studio': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
