import type { Command } from 'commander';
import { checkHealth } from '@logsplit/common/health/check-health';

export interface HealthOptions {
  addr: string;
  service: string;
  timeoutMs: string;
}

export function registerHealth(program: Command): void {
  program
    .command('health')
    .description("ask a service's gRPC health endpoint (grpc.health.v1) for its status")
    .option('--addr <host:port>', 'the health endpoint (LOGSPLIT_HEALTH_PORT)', '127.0.0.1:50051')
    .option('--service <name>', "'' = the whole service, or a component: kafka, redis, store", '')
    .option('--timeout-ms <n>', 'give up after this long', '3000')
    .action(async (opts: HealthOptions) => {
      const status = await health(opts);
      process.stdout.write(`${status}\n`);
      if (status !== 'SERVING') process.exitCode = 1;
    });
}

/** The status; exit code 0 only for SERVING, so scripts can wait on it like on a probe. */
export async function health(opts: HealthOptions): Promise<string> {
  const timeoutMs = Number(opts.timeoutMs);
  if (!(timeoutMs > 0)) throw new Error(`--timeout-ms must be > 0 (got ${opts.timeoutMs})`);
  try {
    return await checkHealth(opts.addr, opts.service, timeoutMs);
  } catch (err) {
    return `UNREACHABLE ${err instanceof Error ? err.message : String(err)}`;
  }
}
