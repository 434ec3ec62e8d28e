/** The kinds of server this package starts by itself (native, or a container where one answers). */
export type BuiltInService = 'redis' | 'postgres' | 'mongodb' | 'dynamodb';

/** A built-in kind, or one a backend brings in its `test/server.ts` (see plugins.ts). */
export type ServiceName = BuiltInService | (string & {});

export interface RunningService {
  name: string;
  /** Connection URL (for DynamoDB, the endpoint `http://127.0.0.1:port`). */
  url: string;
  /** Where it came from: an environment URL, a container, or a native server we started. */
  source: 'env' | 'testcontainers' | 'native';
  /** Stops what we started (nothing for an environment URL). */
  stop(): Promise<void>;
  /** Stops and starts the server again on the same address, keeping its data. */
  restart?(): Promise<void>;
}
