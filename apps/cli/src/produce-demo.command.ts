import type { Command } from 'commander';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '@logsplit/common/config';
import { kafkaSecurityOptions } from '@logsplit/common';
import { generateGoodRecords, loadSampleLines } from '@logsplit/workload';

export interface ProduceDemoOptions {
  rate: string;
  duration: string;
  apps: string;
  seed?: string;
  samples?: string;
}

export function registerProduceDemo(program: Command): void {
  program
    .command('produce-demo')
    .description(
      'send realistic log lines from many apps (Zipf-skewed: a few hot apps, a long tail) to the raw topic',
    )
    .option('--rate <records/s>', 'records per second', '2000')
    .option('--duration <seconds>', 'stop after this many seconds (0 = until Ctrl-C)', '0')
    .option('--apps <n>', 'number of apps (app-0000, app-0001, ...)', '200')
    .option('--seed <n>', 'seed of the generator (default: varies per run)')
    .option('--samples <dir>', 'folder of *.log files whose lines are the messages')
    .action(async (opts: ProduceDemoOptions) => {
      await produceDemo(opts);
    });
}

/**
 * The demo producer of the local stack and docker compose: JSON records with the app id in `app`,
 * at a steady rate in 100 ms ticks, to KAFKA_BROKERS / LOGSPLIT_TOPIC_RAW; progress on stderr.
 */
export async function produceDemo(opts: ProduceDemoOptions): Promise<number> {
  const rate = positive('rate', opts.rate);
  const apps = positive('apps', opts.apps);
  const durationS = Number(opts.duration);
  if (!Number.isFinite(durationS) || durationS < 0) {
    throw new Error(`--duration must be a number of seconds >= 0 (got ${opts.duration})`);
  }
  const seed = opts.seed === undefined ? Date.now() & 0xffff : positive('seed', opts.seed);
  const config = loadConfig('demo-producer');
  const topic = config.topics.raw;

  const kafka = new Kafka({
    clientId: 'logsplit-demo-producer',
    brokers: config.kafka.brokers,
    ...kafkaSecurityOptions(config.kafka.security),
    logLevel: logLevel.WARN,
  });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  let stop = false;
  const onSignal = () => (stop = true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const pool = generateGoodRecords(
    Math.max(10_000, rate * 5),
    apps,
    seed,
    loadSampleLines(opts.samples),
  );
  const started = Date.now();
  let sent = 0;
  let lastReport = started;
  try {
    while (!stop && (durationS <= 0 || Date.now() - started < durationS * 1000)) {
      const tickStart = Date.now();
      const perTick = Math.max(1, Math.round(rate / 10));
      const messages = Array.from({ length: perTick }, (_, i) => ({
        value: pool[(sent + i) % pool.length].value,
      }));
      await producer.send({ topic, acks: -1, messages });
      sent += perTick;
      if (Date.now() - lastReport >= 5000) {
        lastReport = Date.now();
        process.stderr.write(
          `demo-producer: ${sent} records sent to ${topic} (${Math.round((sent * 1000) / (lastReport - started))}/s)\n`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tickStart))));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await producer.disconnect();
  }
  process.stderr.write(`demo-producer: done, ${sent} records\n`);
  return sent;
}

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive whole number (got ${v})`);
  return n;
}
