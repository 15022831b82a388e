import { ChildProcess, execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { loadKafkaSecurity } from '@logsplit/common';
import { kafkaSecurityOptions } from '@logsplit/common';

const run = promisify(execFile);

/** A private broker and Redis for one bench run (scripts/kafka, scripts/redis with their own dir). */
export interface Infra {
  brokers: string;
  redisUrl: string;
  kafka: Kafka;
  stop(): Promise<void>;
}

async function lastLine(cmd: string, args: string[], key: string): Promise<string> {
  const { stdout } = await run(cmd, args, { maxBuffer: 1 << 20 });
  const line = stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith(`${key}=`)) throw new Error(`${cmd} printed no ${key}= line: ${stdout}`);
  return line.slice(key.length + 1);
}

export async function startInfra(root: string, dir: string): Promise<Infra> {
  const kafkaDir = join(dir, 'kafka');
  const redisDir = join(dir, 'redis');
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  try {
    // More heap than the test default: the bench pushes hundreds of MB through it.
    process.env.KAFKA_HEAP ??= '1g';
    const brokers = await lastLine(
      join(root, 'scripts/kafka'),
      ['start', '--dir', kafkaDir],
      'KAFKA_BROKERS',
    );
    stops.push(() => run(join(root, 'scripts/kafka'), ['stop', '--dir', kafkaDir, '--clean']));
    const redisUrl = await lastLine(
      join(root, 'scripts/redis'),
      ['start', '--dir', redisDir],
      'REDIS_URL',
    );
    stops.push(() => run(join(root, 'scripts/redis'), ['stop', '--dir', redisDir, '--clean']));
    const kafka = new Kafka({
      clientId: 'logsplit-bench',
      brokers: brokers.split(','),
      ...kafkaSecurityOptions(loadKafkaSecurity()),
      logLevel: logLevel.NOTHING,
    });
    return { brokers, redisUrl, kafka, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Produces the workload file (one record per line) with kcat (librdkafka), the same fast producer
 * for both pipelines, so neither is held back by its feed. Records get CreateTime = send time.
 * `bytesPerSec`: fed at that steady rate instead (through `pv -L`), for latency at a given load.
 */
export function produce(
  brokers: string,
  topic: string,
  file: string,
  bytesPerSec?: number,
): ChildProcess {
  const kcat = [
    'kcat',
    '-P',
    '-b',
    brokers,
    '-t',
    topic,
    '-X',
    'linger.ms=20',
    '-X',
    'batch.size=1000000',
    '-X',
    'queue.buffering.max.kbytes=65536',
  ];
  if (bytesPerSec === undefined) {
    return spawn(kcat[0], kcat.slice(1), { stdio: [openSync(file, 'r'), 'ignore', 'inherit'] });
  }
  return spawn('sh', ['-c', `pv -q -L "$RATE" "$FILE" | ${kcat.join(' ')}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, RATE: String(Math.round(bytesPerSec)), FILE: file },
  });
}

export function exited(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((res) => proc.once('exit', (code) => res(code)));
}
