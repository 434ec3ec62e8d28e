/**
 * Vitest glue: `export default serviceGlobalSetup('redis')` in a package's global setup starts
 * one server for the whole run; tests read its URL with `inject('redisUrl')`.
 */
import type { TestProject } from 'vitest/node';
import { startService } from './index.js';
import type { ServiceName } from './types.js';

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

const KEY = {
  redis: 'redisUrl',
  postgres: 'postgresUrl',
  mongodb: 'mongodbUrl',
  dynamodb: 'dynamodbEndpoint',
} as const;

export function serviceGlobalSetup(...names: ServiceName[]) {
  return async function setup(project: TestProject) {
    const services = await Promise.all(names.map((name) => startService(name)));
    project.provide('serviceUrls', Object.fromEntries(services.map((service) => [service.name, service.url])));
    for (const service of services) {
      if (Object.hasOwn(KEY, service.name)) project.provide(KEY[service.name as keyof typeof KEY], service.url);
      console.log(
        `[test-services] ${service.name}: ${service.source} at ${service.url.replace(/\/\/[^@/]*@/, '//***@')}`,
      );
    }
    return async () => {
      await Promise.all(services.map((service) => service.stop()));
    };
  };
}
