import { startPgbouncer } from '@sessions/test-services';
import { serviceGlobalSetup } from '@sessions/test-services/vitest';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** PgBouncer in transaction mode in front of `postgresUrl` (contract-pgbouncer.test.ts). */
    pgbouncerUrl: string;
  }
}

const startPostgres = serviceGlobalSetup('postgres');

/** The test PostgreSQL, then PgBouncer in front of it: `PGBOUNCER_URL`, or Debian's pgbouncer. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stopPostgres = await startPostgres(project);
  let pooler: Awaited<ReturnType<typeof startPgbouncer>>;
  try {
    pooler = await startPgbouncer(project.getProvidedContext().postgresUrl);
  } catch (error) {
    await stopPostgres();
    throw error;
  }
  project.provide('pgbouncerUrl', pooler.url);
  console.log(`[test-services] pgbouncer: ${pooler.source} at ${pooler.url.replace(/\/\/[^@/]*@/, '//***@')}`);
  return async () => {
    await pooler.stop();
    await stopPostgres();
  };
}
