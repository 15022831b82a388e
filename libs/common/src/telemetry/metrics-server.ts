import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Metrics } from './metrics';

export interface MetricsServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Serves GET /metrics in Prometheus text format; port 0 picks a free port. */
export async function startMetricsServer(
  metrics: Metrics,
  host: string,
  port: number,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('only GET /metrics here\n');
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    host,
    port: bound,
    close: () => new Promise((res) => server.close(() => res())),
  };
}
