// Jest globalSetup of the e2e project: a real Kafka broker and Redis for the whole run.
// KAFKA_BROKERS / REDIS_URL already set = use that infrastructure and start nothing.
// Variables set here on process.env reach the test workers, which are forked afterwards.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import globalTeardown from './global-teardown';
import { ROOT } from './infra';

const run = promisify(execFile);

function note(message: string): void {
  process.stderr.write(`[e2e setup] ${message}\n`);
}

/** Runs scripts/<name> start and returns VAR=value from the last line of its stdout. */
async function start(script: 'kafka' | 'redis', dir: string, variable: string): Promise<string> {
  const t0 = Date.now();
  let stdout: string;
  try {
    ({ stdout } = await run(path.join(ROOT, 'scripts', script), ['start', '--dir', dir], {
      cwd: ROOT,
    }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`scripts/${script} start failed:\n${e.stderr ?? e.message}`);
  }
  const last = stdout.trim().split('\n').pop() ?? '';
  const prefix = `${variable}=`;
  if (!last.startsWith(prefix)) {
    throw new Error(`scripts/${script} start printed no ${prefix}... line, got: ${stdout}`);
  }
  note(`${script} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${last}`);
  return last.slice(prefix.length);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Brokers and Redis servers left behind by runs that died before their teardown (Ctrl-C). */
function reapStale(cache: string): void {
  if (!fs.existsSync(cache)) return;
  for (const name of fs.readdirSync(cache)) {
    const m = /^test-(kafka|redis)-(\d+)$/.exec(name);
    if (!m || alive(Number(m[2]))) continue;
    note(`stopping leftover ${name}`);
    execFileSync(
      path.join(ROOT, 'scripts', m[1]),
      ['stop', '--dir', path.join(cache, name), '--clean'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
}

export default async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  const main = path.join(
    path.resolve(ROOT, process.env.LOGSPLIT_DIST_DIR ?? 'dist'),
    'apps',
    'splitter',
    'src',
    'main.js',
  );
  if (process.env.LOGSPLIT_SKIP_BUILD_CHECK !== '1' && !fs.existsSync(main)) {
    throw new Error(
      `${path.relative(ROOT, main)} is missing: e2e tests run the built services. Run ` +
        '`npm run build` first (`npm test` does), or set LOGSPLIT_SKIP_BUILD_CHECK=1 for tests ' +
        'that do not start services',
    );
  }

  const cache = path.join(ROOT, '.cache');
  reapStale(cache);

  const tasks: Promise<void>[] = [];
  if (!process.env.KAFKA_BROKERS) {
    const dir = path.join(cache, `test-kafka-${process.pid}`);
    tasks.push(
      start('kafka', dir, 'KAFKA_BROKERS').then((brokers) => {
        process.env.KAFKA_BROKERS = brokers;
        process.env.LOGSPLIT_TEST_KAFKA_DIR = dir;
      }),
    );
  } else {
    note(`using KAFKA_BROKERS=${process.env.KAFKA_BROKERS}`);
  }
  if (!process.env.REDIS_URL) {
    const dir = path.join(cache, `test-redis-${process.pid}`);
    tasks.push(
      start('redis', dir, 'REDIS_URL').then((url) => {
        process.env.REDIS_URL = url;
        process.env.LOGSPLIT_TEST_REDIS_DIR = dir;
      }),
    );
  } else {
    note(`using REDIS_URL=${process.env.REDIS_URL}`);
  }

  // Start both at once; if one fails, still wait for the other so teardown can stop it.
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // Jest skips globalTeardown when globalSetup throws: stop what did start here.
    await globalTeardown().catch(() => undefined);
    throw failed.reason;
  }
  note(`infrastructure up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}
