/**
 * Bundles the front end (src/client) into two strings, served by the studio as /app.js and
 * /app.css. Used by tsup (build) and by Vite (tests) through the virtual module
 * `virtual:studio-client`, so that the package ships one self-contained server module.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const CLIENT_MODULE = 'virtual:studio-client';
const entry = fileURLToPath(new URL('../src/client/main.ts', import.meta.url));
const styles = fileURLToPath(new URL('../src/client/style.css', import.meta.url));

export async function bundleClient(): Promise<{ script: string; style: string; files: string[] }> {
  const [script, style] = await Promise.all([
    build({
      entryPoints: [entry],
      bundle: true,
      format: 'iife',
      target: 'es2022',
      minify: true,
      write: false,
      metafile: true,
      legalComments: 'none',
    }),
    build({ entryPoints: [styles], bundle: true, minify: true, write: false, metafile: true }),
  ]);
  return {
    script: script.outputFiles[0]!.text,
    style: style.outputFiles[0]!.text,
    files: [...Object.keys(script.metafile.inputs), ...Object.keys(style.metafile.inputs)],
  };
}

/** The module's source text. */
export async function clientModuleSource(): Promise<{ contents: string; files: string[] }> {
  const { script, style, files } = await bundleClient();
  return {
    contents: `export const script = ${JSON.stringify(script)};\nexport const style = ${JSON.stringify(style)};\n`,
    files,
  };
}
