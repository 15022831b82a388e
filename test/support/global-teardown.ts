// Jest globalTeardown of the e2e project: stop (and delete) only what global-setup.ts started.
// LOGSPLIT_KEEP_TEST_DATA=1 keeps the data dirs (broker logs, segments) for a post-mortem.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './infra';

const run = promisify(execFile);

async function stop(script: 'kafka' | 'redis', variable: string): Promise<void> {
  const dir = process.env[variable];
  if (!dir) return;
  const keep = process.env.LOGSPLIT_KEEP_TEST_DATA === '1';
  const t0 = Date.now();
  await run(path.join(ROOT, 'scripts', script), [
    'stop',
    '--dir',
    dir,
    ...(keep ? [] : ['--clean']),
  ]);
  delete process.env[variable];
  process.stderr.write(
    `[e2e teardown] ${script} stopped in ${((Date.now() - t0) / 1000).toFixed(1)}s` +
      `${keep ? `, data kept in ${dir}` : ''}\n`,
  );
}

export default async function globalTeardown(): Promise<void> {
  const results = await Promise.allSettled([
    stop('kafka', 'LOGSPLIT_TEST_KAFKA_DIR'),
    stop('redis', 'LOGSPLIT_TEST_REDIS_DIR'),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
