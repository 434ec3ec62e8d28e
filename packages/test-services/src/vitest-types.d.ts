// Types of ./vitest.ts for consumers. A declaration file, because TypeScript refuses a module
// augmentation in a .ts source reached through node_modules; from a .d.ts it applies, so every
// package that imports '@sessions/test-services/vitest' gets typed `inject('redisUrl')` etc.
import type { TestProject } from 'vitest/node';
import type { ServiceName } from './types.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
    mongodbUrl: string;
    dynamodbEndpoint: string;
    /** Every started server's URL by kind, including kinds that backends bring. */
    serviceUrls: Record<string, string>;
  }
}

export declare function serviceGlobalSetup(
  ...names: ServiceName[]
): (project: TestProject) => Promise<() => Promise<void>>;
