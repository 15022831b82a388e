import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ownedKafkaDir, startKafka, stopKafka } from '../support/infra';

const run = promisify(execFile);

/**
 * The broker and Redis a chaos run uses, and the two outages it causes on them. Both restarts
 * keep the address (scripts/kafka and scripts/redis reuse a dir's ports), so clients reconnect
 * to the same place, as they would after an outage in production.
 */
export interface ChaosInfra {
  brokers: string;
  redisUrl: string;
  /** Stops the broker (SIGKILL when `kill`, else SIGTERM) and starts it again on the same dir. */
  restartKafka(opts: { kill: boolean; downMs: number }): Promise<void>;
  /** Stops Redis and starts it again, empty: Redis holds only leases, which must be re-taken. */
  restartRedis(opts: { downMs: number }): Promise<void>;
  /** Stops what this infra started; its data dirs are deleted unless `keepData`. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The checkout whose scripts/ to run: above this file, whether run from test/ or a build of it. */
export const REPO = ((): string => {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'scripts', 'kafka')) && existsSync(join(dir, 'package.json')))
      return dir;
  }
  return process.cwd();
})();

/** Runs scripts/<name> and returns the value of its last stdout line, which is VAR=value. */
async function script(name: 'kafka' | 'redis', args: string[], variable?: string) {
  let stdout: string;
  try {
    ({ stdout } = await run(join(REPO, 'scripts', name), args, { cwd: REPO, maxBuffer: 1 << 20 }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`scripts/${name} ${args.join(' ')} failed:\n${e.stderr || e.message}`);
  }
  if (!variable) return '';
  const last = stdout.trim().split('\n').pop() ?? '';
  if (!last.startsWith(`${variable}=`)) {
    throw new Error(`scripts/${name} ${args[0]} printed no ${variable}= line: ${stdout}`);
  }
  return last.slice(variable.length + 1);
}

/** A restart on a loaded machine can outlast scripts/kafka's start timeout: try again, twice. */
async function startAgain(start: () => Promise<unknown>): Promise<void> {
  process.env.KAFKA_START_TIMEOUT ??= '180';
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(2000);
    }
  }
}

async function privateRedis(dir: string) {
  const redisDir = join(dir, 'redis');
  const url = await script('redis', ['start', '--dir', redisDir], 'REDIS_URL');
  return {
    url,
    async restart(downMs: number) {
      await script('redis', ['stop', '--dir', redisDir]);
      await sleep(downMs);
      await startAgain(() => script('redis', ['start', '--dir', redisDir], 'REDIS_URL'));
    },
    stop: (keep = false) =>
      script('redis', ['stop', '--dir', redisDir, ...(keep ? [] : ['--clean'])]),
  };
}

/** A broker and a Redis of the run's own under `dir` (scripts/chaos). */
export async function ownInfra(dir: string): Promise<ChaosInfra> {
  const kafkaDir = join(dir, 'kafka');
  // The run pushes a lot through one broker on a small machine: more heap than the script's default.
  process.env.KAFKA_HEAP ??= '768m';
  const brokers = await script('kafka', ['start', '--dir', kafkaDir], 'KAFKA_BROKERS');
  let redis: Awaited<ReturnType<typeof privateRedis>>;
  try {
    redis = await privateRedis(dir);
  } catch (err) {
    await script('kafka', ['stop', '--dir', kafkaDir, '--clean']).catch(() => undefined);
    throw err;
  }
  return {
    brokers,
    redisUrl: redis.url,
    async restartKafka({ kill, downMs }) {
      await script('kafka', ['stop', '--dir', kafkaDir, ...(kill ? ['--kill'] : [])]);
      await sleep(downMs);
      await startAgain(() => script('kafka', ['start', '--dir', kafkaDir], 'KAFKA_BROKERS'));
    },
    restartRedis: ({ downMs }) => redis.restart(downMs),
    async stop({ keepData = false } = {}) {
      await Promise.allSettled([
        script('kafka', ['stop', '--dir', kafkaDir, ...(keepData ? [] : ['--clean'])]),
        redis.stop(keepData),
      ]);
    },
  };
}

/**
 * The e2e suite's broker (global setup's; restarting it is fine because e2e files run in band)
 * and a private Redis under `dir`, so the Redis outage touches no other test's leases.
 */
export async function testInfra(dir: string): Promise<ChaosInfra> {
  if (!ownedKafkaDir()) {
    throw new Error(
      'the chaos run restarts the broker, but KAFKA_BROKERS points at a broker the tests do not ' +
        'own: unset KAFKA_BROKERS so global setup starts a private one',
    );
  }
  const redis = await privateRedis(dir);
  return {
    brokers: process.env.KAFKA_BROKERS!,
    redisUrl: redis.url,
    async restartKafka({ kill, downMs }) {
      await stopKafka({ kill });
      await sleep(downMs);
      await startAgain(startKafka);
    },
    restartRedis: ({ downMs }) => redis.restart(downMs),
    stop: async ({ keepData = false } = {}) => void (await redis.stop(keepData)),
  };
}
