import type { BuiltInService, RunningService } from './types.js';

/** True when a container runtime answers (fails within milliseconds when there is none). */
export async function containerRuntimeAvailable(): Promise<boolean> {
  if (process.env.SESSIONS_NO_TESTCONTAINERS === '1') return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** The images named in the foundation issue; mongo runs as a one-node replica set. */
export async function startContainer(name: BuiltInService): Promise<RunningService> {
  const { GenericContainer, Wait } = await import('testcontainers');
  switch (name) {
    case 'redis': {
      const c = await new GenericContainer('redis:7')
        .withExposedPorts(6379)
        .withCommand(['redis-server', '--appendonly', 'yes'])
        .start();
      return wrap(name, `redis://${c.getHost()}:${c.getMappedPort(6379)}`, c);
    }
    case 'postgres': {
      const c = await new GenericContainer('postgres:16')
        .withEnvironment({ POSTGRES_PASSWORD: 'postgres', POSTGRES_HOST_AUTH_METHOD: 'trust' })
        .withExposedPorts(5432)
        .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
        .start();
      return wrap(name, `postgres://postgres@${c.getHost()}:${c.getMappedPort(5432)}/postgres`, c);
    }
    case 'mongodb': {
      const c = await new GenericContainer('mongo:8')
        .withExposedPorts(27017)
        .withCommand(['--replSet', 'rs0', '--bind_ip_all'])
        .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
        .start();
      await c.exec([
        'mongosh',
        '--quiet',
        '--eval',
        "rs.initiate({_id:'rs0',members:[{_id:0,host:'localhost:27017'}]})",
      ]);
      return wrap(name, `mongodb://${c.getHost()}:${c.getMappedPort(27017)}/?directConnection=true`, c);
    }
    case 'dynamodb': {
      const c = await new GenericContainer('amazon/dynamodb-local')
        .withExposedPorts(8000)
        .withCommand(['-jar', 'DynamoDBLocal.jar', '-inMemory', '-sharedDb'])
        .start();
      return wrap(name, `http://${c.getHost()}:${c.getMappedPort(8000)}`, c);
    }
  }
}

interface Container {
  stop(): Promise<unknown>;
  restart(): Promise<unknown>;
}

function wrap(name: BuiltInService, url: string, container: Container): RunningService {
  return {
    name,
    url,
    source: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
    restart: async () => {
      await container.restart();
    },
  };
}
