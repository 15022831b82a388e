import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthState } from './health-state';

export interface HealthServer {
  host: string;
  port: number;
  /** Ends open Watch streams and stops listening. */
  close(): Promise<void>;
}

/** Serves grpc.health.v1.Health (Check, Watch, List) for `state`; port 0 picks a free port. */
export async function startHealthServer(
  state: HealthState,
  host: string,
  port: number,
): Promise<HealthServer> {
  const server = new Server();
  state.implementation.addToServer(server);
  const bound = await new Promise<number>((res, rej) =>
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, p) =>
      err ? rej(err) : res(p),
    ),
  );
  return {
    host,
    port: bound,
    close: () =>
      new Promise<void>((res) => {
        // Watch streams never end by themselves: give calls a moment, then cut them.
        const force = setTimeout(() => server.forceShutdown(), 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          res();
        });
      }),
  };
}
