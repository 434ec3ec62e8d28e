// The database servers these tests use. This folder is meant to be copied out of the repository and
// installed with plain npm, so it cannot depend on the workspace-only @sessions/test-services: inside
// the repository that package is found in the workspace root's node_modules and starts the server
// (or takes REDIS_URL); in a copy, REDIS_URL must name it.
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

type ServiceGlobalSetup = (...names: string[]) => (project: TestProject) => Promise<() => Promise<void>>;

export default async function setup(project: TestProject) {
  const testServices = await importIfInstalled('@sessions/test-services/vitest');
  if (testServices) return (testServices.serviceGlobalSetup as ServiceGlobalSetup)('redis')(project);
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) throw new Error('Set REDIS_URL to a Redis server (these tests write to it).');
  project.provide('redisUrl', redisUrl);
}

/** `import(name)`, or undefined when the package is not installed (a copy outside the repository). */
async function importIfInstalled(name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch (error) {
    if (String((error as Error).message).includes(name)) return undefined;
    throw error;
  }
}
