export type ServiceName = 'redis' | 'postgres' | 'mongodb' | 'dynamodb';

export interface RunningService {
  name: ServiceName;
  /** Connection URL (for DynamoDB, the endpoint `http://127.0.0.1:port`). */
  url: string;
  /** Where it came from: an environment URL, a container, or a native server we started. */
  source: 'env' | 'testcontainers' | 'native';
  /** Stops what we started (nothing for an environment URL). */
  stop(): Promise<void>;
  /** Stops and starts the server again on the same address, keeping its data. */
  restart?(): Promise<void>;
}
