/**
 * Demo producer for the local stack: realistic log lines from many apps (Zipf-skewed) into the
 * raw topic at a steady rate, with progress on stderr.
 *
 *   node dist/scripts/demo-producer.js [--rate 2000] [--duration 60] [--apps 200]
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { generateGoodRecords } from './workload';

async function main() {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '2000' },
      duration: { type: 'string', default: '0' },
      apps: { type: 'string', default: '200' },
    },
  });
  const rate = positive('rate', values.rate);
  const apps = positive('apps', values.apps);
  const durationS = Number(values.duration);
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const topic = process.env.LOGSPLIT_TOPIC_RAW ?? 'logs.raw';

  const kafka = new Kafka({ clientId: 'logsplit-demo-producer', brokers, logLevel: logLevel.WARN });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  process.once('SIGTERM', () => (stop = true));

  const pool = generateGoodRecords(Math.max(10_000, rate * 5), apps, Date.now() & 0xffff);
  const started = Date.now();
  let sent = 0;
  let lastReport = started;
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
  await producer.disconnect();
  process.stderr.write(`demo-producer: done, ${sent} records\n`);
}

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive whole number (got ${v})`);
  return n;
}

main().catch((err) => {
  process.stderr.write(`demo-producer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
