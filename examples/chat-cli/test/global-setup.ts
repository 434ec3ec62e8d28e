// The database servers these tests use. This folder is meant to be copied out of the repository and
// installed with plain npm, so it cannot depend on the workspace-only @sessions/test-services: inside
// the repository that package is found in the workspace root's node_modules and starts the servers
// (or takes REDIS_URL / POSTGRES_URL); in a copy, REDIS_URL and POSTGRES_URL must name them.
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
  }
}

type ServiceGlobalSetup = (...names: string[]) => (project: TestProject) => Promise<() => Promise<void>>;

export default async function setup(project: TestProject) {
  const testServices = await importIfInstalled('@sessions/test-services/vitest');
  if (testServices) return (testServices.serviceGlobalSetup as ServiceGlobalSetup)('redis', 'postgres')(project);
  const { REDIS_URL: redisUrl, POSTGRES_URL: postgresUrl } = process.env;
  if (!redisUrl || !postgresUrl) {
    throw new Error('Set REDIS_URL and POSTGRES_URL to a Redis and a PostgreSQL server (these tests write to them).');
  }
  project.provide('redisUrl', redisUrl);
  project.provide('postgresUrl', postgresUrl);
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
