/**
 * Imports backend packages on demand. The specifier is a variable so bundlers and vitest leave the
 * import alone: a backend that is not installed fails only when its URL is used, and then the error
 * names the exact `npm i` line (the backend, its driver, or both).
 */

import { SessionValidationError } from '../errors/index.js';
import type { BackendDescriptor } from '../protocol/backend.js';
import type { KnownBackend } from './known-backends.generated.js';

/** The descriptors of `backends` that are installed; with `required`, a missing one is an error. */
export async function loadInstalledDescriptors(
  backends: readonly KnownBackend[],
  { required = false } = {},
): Promise<BackendDescriptor[]> {
  const loaded = await Promise.all(
    backends.map(async (backend) => {
      try {
        const module = await importBackend(backend, `${backend.packageName}/descriptor`);
        return module.descriptor as BackendDescriptor | undefined;
      } catch (error) {
        if (required) throw error;
        return undefined;
      }
    }),
  );
  return loaded.filter((descriptor): descriptor is BackendDescriptor => descriptor !== undefined);
}

/** `import(specifier)` of a backend's module; a missing package becomes an install hint. */
export async function importBackend(backend: KnownBackend, specifier: string): Promise<Record<string, unknown>> {
  try {
    const loaded = (await import(specifier)) as Record<string, unknown>;
    // CommonJS interop may put the exports under `default`.
    return (
      loaded.default && typeof loaded.default === 'object' ? { ...(loaded.default as object), ...loaded } : loaded
    ) as Record<string, unknown>;
  } catch (error) {
    throw new SessionValidationError(
      `The ${backend.name} backend (${backend.packageName}) could not be loaded: ${installHint(backend, error)}`,
      'INVALID_ARGUMENT',
      { cause: error },
    );
  }
}

function installHint(backend: KnownBackend, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return message;
  // Node names the package it could not find: the backend itself, or its driver (a peer dependency).
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1] ?? '';
  const driverOnly = missing === backend.driver || missing.startsWith(`${backend.driver}/`);
  const install = driverOnly ? backend.driver : `${backend.packageName} ${backend.driver}`;
  return `${driverOnly ? `its driver ${backend.driver}` : backend.packageName} is not installed; install it with: npm i ${install}`;
}
