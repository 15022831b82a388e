import { statSync } from 'node:fs';
import { join } from 'node:path';
import { generateGoodRecords } from '../../apps/cli/src/workload';
import { decodeWithCli, readIndexEntries, splitRecords } from './archive';
import { badRecords } from './bad-records';
import {
  createTopics,
  PipelinePlace,
  pipelineEnv,
  readTopic,
  testKafka,
  waitForArchive,
} from './pipeline';
import { archiveStats } from './report';
import { RunningService, startService } from './services';

const MAX_RECORD_BYTES = 64 * 1024;
const SEGMENT_MAX_AGE_MS = 10_000;
const SLOTS = 10;

export interface ConservationResult {
  records: number;
  apps: number;
  /** From the first produce to the last record archived. */
  wallMs: number;
  summary: string;
}

/**
 * The product's central promise on a calm day, as one run: `records` good records over `apps`
 * apps with bad records interleaved go through the three services at `at` (a broker, secured or
 * not); every good record must be in exactly one archived file of its app, and every bad record
 * in the dead-letter topic with its reason.
 */
export async function conservationRun(
  records: number,
  apps: number,
  at: PipelinePlace = {},
): Promise<ConservationResult> {
  const p = pipelineEnv(
    {
      LOGSPLIT_MAX_RECORD_BYTES: String(MAX_RECORD_BYTES),
      LOGSPLIT_SEGMENT_MAX_AGE_MS: String(SEGMENT_MAX_AGE_MS),
      LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
      LOGSPLIT_WRITER_SLOTS: String(SLOTS),
    },
    at,
  );
  const kafka = testKafka(p.env);
  const good = generateGoodRecords(records, apps);
  const bad = badRecords(MAX_RECORD_BYTES);
  const services: RunningService[] = [];
  const started = Date.now();
  try {
    await createTopics(kafka, Object.values(p.topics), 6);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    // Bad records are interleaved with good ones so the splitter meets them mid-batch.
    const all: { value: Buffer | null }[] = good.map((r) => ({ value: r.value }));
    bad.forEach((b, i) => all.splice(Math.floor(((i + 1) * all.length) / (bad.length + 1)), 0, b));
    // Explicit partitions: kafkajs re-partitions key-less messages on each retry of a send, so a
    // retry after a broker-side append would arrive with other batch bounds under the same
    // sequence numbers (OUT_OF_ORDER_SEQUENCE_NUMBER, seen on freshly started brokers).
    const placed = all.map((m, i) => ({ ...m, partition: i % 6 }));
    for (let i = 0; i < placed.length; i += 2000) {
      await producer.send({ topic: p.topics.raw, acks: -1, messages: placed.slice(i, i + 2000) });
    }
    await producer.disconnect();
    for (const name of ['splitter', 'compressor', 'uploader'] as const) {
      services.push(await startService(name, p.env));
    }

    const expected = new Map<string, string[]>();
    for (const r of good) {
      const line = r.value.toString('utf8').replace(/\n$/, '');
      if (!expected.has(r.app)) expected.set(r.app, []);
      expected.get(r.app)!.push(line);
    }
    await waitForArchive(p, records, 300_000, 1000);
    const wallMs = Date.now() - started;

    const entries = readIndexEntries(p.bucketDir, p.prefix);
    const actual = new Map<string, string[]>();
    for (const e of entries) {
      const file = join(p.bucketDir, e.key);
      expect(statSync(file).size).toBe(e.bytes);
      const lines = splitRecords(decodeWithCli(file));
      expect(lines).toHaveLength(e.records);
      if (!actual.has(e.app)) actual.set(e.app, []);
      actual.get(e.app)!.push(...lines);
    }
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [app, lines] of expected) {
      expect({ app, lines: [...actual.get(app)!].sort() }).toEqual({
        app,
        lines: [...lines].sort(),
      });
    }
    const stats = archiveStats(entries, SEGMENT_MAX_AGE_MS);
    // Few large files: at most one file per writer slot per app per rotation window.
    expect(stats.maxFilesPerAppPerWindow).toBeLessThanOrEqual(SLOTS);

    const dead = await readTopic(kafka, p.topics.dlq, bad.length);
    const key = (v: Buffer | null, reason: string | undefined) =>
      `${reason} ${v?.toString('base64')}`;
    expect(dead.map((d) => key(d.value, d.headers['logsplit-dlq-reason'])).sort()).toEqual(
      bad.map((b) => key(b.value, b.reason)).sort(),
    );
    for (const d of dead) {
      expect(d.headers['logsplit-src-topic']).toBe(p.topics.raw);
      expect(Number(d.headers['logsplit-src-offset'])).toBeGreaterThanOrEqual(0);
    }
    const summary =
      `${records} records over ${expected.size} apps in ${(wallMs / 1000).toFixed(1)} s; ` +
      `${entries.length} files; files/app/window max ${stats.maxFilesPerAppPerWindow}, mean ${stats.meanFilesPerAppPerWindow.toFixed(2)}; ` +
      `raw ${stats.rawBytes} B → ${stats.bytes} B (ratio ${(stats.rawBytes / stats.bytes).toFixed(2)})`;
    return { records, apps: expected.size, wallMs, summary };
  } finally {
    await Promise.all(services.map((s) => s.stop()));
  }
}
