import { defineConfig } from 'tsup';
import { libraryConfig } from '../../tsup.base.ts';
import { CLIENT_MODULE, clientModuleSource } from './scripts/bundle-client.ts';

export default defineConfig(
  libraryConfig(
    { index: 'src/index.ts' },
    {
      esbuildPlugins: [
        {
          name: 'studio-client',
          setup(build) {
            build.onResolve({ filter: /^virtual:studio-client$/ }, () => ({
              path: CLIENT_MODULE,
              namespace: 'studio',
            }));
            build.onLoad({ filter: /.*/, namespace: 'studio' }, async () => {
              const { contents } = await clientModuleSource();
              return { contents, loader: 'js' };
            });
          },
        },
      ],
    },
  ),
);
