import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaSecurityOptions, loadKafkaSecurity, pickKafkaSecurityEnv } from '@logsplit/common';
import { TOPIC_MAX_MESSAGE_BYTES } from '@logsplit/common/kafka';
import { generateGoodRecords } from '@logsplit/workload';
import { readIndexEntries } from './archive';

/** A private pipeline: its own topics, groups, spool and bucket, on the shared test broker. */
export interface PipelineEnv {
  env: Record<string, string>;
  topics: { raw: string; byApp: string; dlq: string; segments: string };
  spoolDir: string;
  bucketDir: string;
  prefix: string;
}

/** Where a private pipeline lives; by default a new temp dir on the test broker and Redis. */
export interface PipelinePlace {
  dir?: string;
  kafkaBrokers?: string;
  redisUrl?: string;
  /** KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_*, KAFKA_SASL_* of that broker; default: this process's. */
  kafkaSecurity?: Record<string, string>;
}

/** Shorter waits than the defaults, for tests only (the bench runs the defaults). */
export const TEST_TIMINGS: Record<string, string> = {
  // A SIGKILLed member's partitions move after 10 s instead of 30: recovery tests wait less.
  KAFKA_SESSION_TIMEOUT_MS: '10000',
  // Gathered chunks are appended after 1 s instead of 30: tests see durable records sooner.
  LOGSPLIT_BLOCK_LINGER_MS: '1000',
};

export function pipelineEnv(
  overrides: Record<string, string> = {},
  at: PipelinePlace = {},
): PipelineEnv {
  const id = randomBytes(4).toString('hex');
  const dir = at.dir ?? mkdtempSync(join(tmpdir(), `logsplit-${id}-`));
  const topics = {
    raw: `raw-${id}`,
    byApp: `by-app-${id}`,
    dlq: `dlq-${id}`,
    segments: `segments-${id}`,
  };
  const spoolDir = join(dir, 'spool');
  const bucketDir = join(dir, 'bucket');
  const prefix = 'logs';
  const env: Record<string, string> = {
    KAFKA_BROKERS: at.kafkaBrokers ?? process.env.KAFKA_BROKERS!,
    ...(at.kafkaSecurity ?? pickKafkaSecurityEnv()),
    REDIS_URL: at.redisUrl ?? process.env.REDIS_URL!,
    LOGSPLIT_TOPIC_RAW: topics.raw,
    LOGSPLIT_TOPIC_BY_APP: topics.byApp,
    LOGSPLIT_TOPIC_DLQ: topics.dlq,
    LOGSPLIT_TOPIC_SEGMENTS: topics.segments,
    LOGSPLIT_SPLITTER_GROUP: `splitter-${id}`,
    LOGSPLIT_COMPRESSOR_GROUP: `compressor-${id}`,
    LOGSPLIT_UPLOADER_GROUP: `uploader-${id}`,
    LOGSPLIT_SPOOL_DIR: spoolDir,
    LOGSPLIT_STORE_FS_ROOT: bucketDir,
    LOGSPLIT_STORE_PREFIX: prefix,
    ...TEST_TIMINGS,
    ...overrides,
  };
  return { env, topics, spoolDir, bucketDir, prefix };
}

/** A client of the test broker; `env` (default this process's) says where and how to connect. */
export function testKafka(env: NodeJS.ProcessEnv = process.env): Kafka {
  return new Kafka({
    clientId: 'logsplit-test',
    brokers: env.KAFKA_BROKERS!.split(','),
    ...kafkaSecurityOptions(loadKafkaSecurity(env)),
    // A TLS handshake on this busy machine can take longer than kafkajs' 1 s default.
    connectionTimeout: 10_000,
    logLevel: logLevel.NOTHING,
  });
}

/**
 * Produces `records` generated good records over `apps` to the raw topic (idempotent producer,
 * acks=all) and returns each app's lines as they must come out of the archive.
 */
export async function produceGoodRecords(
  kafka: Kafka,
  topic: string,
  records: number,
  apps: number,
  seed?: number,
): Promise<Map<string, string[]>> {
  const good = generateGoodRecords(records, apps, seed);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let i = 0; i < good.length; i += 1000) {
      await producer.send({
        topic,
        acks: -1,
        messages: good.slice(i, i + 1000).map((r) => ({ value: r.value })),
      });
    }
  } finally {
    await producer.disconnect();
  }
  const expected = new Map<string, string[]>();
  for (const r of good) {
    const lines = expected.get(r.app) ?? [];
    lines.push(r.value.toString('utf8').replace(/\n$/, ''));
    expected.set(r.app, lines);
  }
  return expected;
}

/** Creates `topics` with `partitions` each (see createTopicsWith). */
export function createTopics(kafka: Kafka, topics: string[], partitions: number): Promise<void> {
  return createTopicsWith(kafka, Object.fromEntries(topics.map((t) => [t, partitions])));
}

/** Creates each topic with its partition count, accepting the pipeline's largest message. */
export async function createTopicsWith(
  kafka: Kafka,
  partitionsByTopic: Record<string, number>,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: Object.entries(partitionsByTopic).map(([topic, numPartitions]) => ({
        topic,
        numPartitions,
        configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) }],
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

/** Segment directories still on the spool (open or sealed), over all apps. */
export function spoolSegments(spoolDir: string): string[] {
  if (!existsSync(spoolDir)) return [];
  const out: string[] = [];
  for (const app of readdirSync(spoolDir)) {
    for (const state of ['open', 'sealed']) {
      const d = join(spoolDir, app, state);
      if (existsSync(d)) out.push(...readdirSync(d).map((s) => join(app, state, s)));
    }
  }
  return out;
}

/** Records in the bucket's index entries, i.e. archived. */
export function archivedRecords(p: PipelineEnv): number {
  return readIndexEntries(p.bucketDir, p.prefix).reduce((n, e) => n + e.records, 0);
}

/** Waits until at least `count` records are archived and no segment is left on the spool. */
export function waitForArchive(
  p: PipelineEnv,
  count: number,
  timeoutMs: number,
  intervalMs = 500,
): Promise<number> {
  return waitFor(
    `${count} records archived and the spool drained`,
    () => {
      const n = archivedRecords(p);
      return n >= count && spoolSegments(p.spoolDir).length === 0 ? n : undefined;
    },
    timeoutMs,
    intervalMs,
  );
}

/**
 * Confirmed records per segment id on the spool (open and sealed), from the manifests; a torn
 * last line is not counted, and a segment moved away while looking is counted on the next call.
 */
export function spoolRecords(spoolDir: string): Map<string, number> {
  const perSegment = new Map<string, number>();
  for (const seg of spoolSegments(spoolDir)) {
    const dir = join(spoolDir, seg);
    try {
      const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as {
        segmentId: string;
      };
      let records = 0;
      for (const line of readFileSync(join(dir, 'manifest.jsonl'), 'utf8').split('\n')) {
        try {
          records += (JSON.parse(line) as { records: number }).records;
        } catch {
          // a torn or empty last line is not committed
        }
      }
      perSegment.set(meta.segmentId, records);
    } catch {
      // moved (sealed or uploaded) or not begun yet
    }
  }
  return perSegment;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Consumes a topic from the beginning until `count` messages arrived or the timeout passed. */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string> }[]> {
  // read_committed (kafkajs' default, stated here): what an aborted transaction wrote is not read.
  const consumer = kafka.consumer({
    groupId: `reader-${randomBytes(4).toString('hex')}`,
    readUncommitted: false,
  });
  const out: { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) {
        if (v !== undefined) headers[k] = (Array.isArray(v) ? v[0] : v).toString();
      }
      out.push({ key: message.key, value: message.value, headers });
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  // Linger briefly so extra (duplicate) messages would show up too.
  await new Promise((r) => setTimeout(r, 1000));
  await consumer.disconnect();
  return out;
}
