/**
 * gRPC health probe for docker compose healthchecks and humans:
 *
 *   node dist/scripts/health-probe.js 127.0.0.1:50051 [service] [--timeout-ms 3000]
 *
 * Prints the status (SERVING, NOT_SERVING, ...) and exits 0 only when it is SERVING; 1 otherwise,
 * 2 on bad usage. `service` is '' (default: the whole service) or a component: kafka, redis, store.
 */
import { parseArgs } from 'node:util';
import { checkHealth } from '@logsplit/common/health/check-health';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'timeout-ms': { type: 'string', default: '3000' } },
  });
  const [address, service = ''] = positionals;
  const timeoutMs = Number(values['timeout-ms']);
  if (!address || positionals.length > 2 || !(timeoutMs > 0)) {
    process.stderr.write(
      'usage: health-probe <host:port> [service] [--timeout-ms N]\n' +
        '  exit 0 when SERVING, 1 otherwise\n',
    );
    return 2;
  }
  try {
    const status = await checkHealth(address, service, timeoutMs);
    process.stdout.write(`${status}\n`);
    return status === 'SERVING' ? 0 : 1;
  } catch (err) {
    process.stdout.write(`UNREACHABLE ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

void main().then((code) => process.exit(code));
