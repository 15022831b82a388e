// Where the end-to-end tests find the real broker and Redis. global-setup.ts fills these
// variables (starting private instances) unless the caller already points them at existing ones.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

export const ROOT = path.resolve(__dirname, '..', '..');

const run = promisify(execFile);

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run e2e tests through jest's e2e project (its global setup starts ` +
        `Kafka and Redis), or export ${name} to use an existing one`,
    );
  }
  return value;
}

/** Broker list for kafkajs, from KAFKA_BROKERS (comma-separated host:port). */
export function kafkaBrokers(): string[] {
  return required('KAFKA_BROKERS')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}

/** redis://host:port of the test Redis, from REDIS_URL. */
export function redisUrl(): string {
  return required('REDIS_URL');
}

/**
 * The data dir of the broker global setup started, or undefined when KAFKA_BROKERS pointed at
 * an existing cluster (tests that stop or kill the broker must skip themselves then).
 */
export function ownedKafkaDir(): string | undefined {
  return process.env.LOGSPLIT_TEST_KAFKA_DIR || undefined;
}

/** A topic/group name no other test (or earlier run against a shared broker) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

function kafkaDirOrThrow(): string {
  const dir = ownedKafkaDir();
  if (!dir) throw new Error('the broker is not ours (KAFKA_BROKERS was given): cannot stop it');
  return dir;
}

/** Stop the test broker: gracefully, or with SIGKILL to simulate a crash. */
export async function stopKafka(opts: { kill?: boolean } = {}): Promise<void> {
  const args = ['stop', '--dir', kafkaDirOrThrow(), ...(opts.kill ? ['--kill'] : [])];
  await run(path.join(ROOT, 'scripts', 'kafka'), args, { cwd: ROOT });
}

/** Start the test broker again on the same address (same dir, same ports). */
export async function startKafka(): Promise<void> {
  await run(path.join(ROOT, 'scripts', 'kafka'), ['start', '--dir', kafkaDirOrThrow()], {
    cwd: ROOT,
  });
}
