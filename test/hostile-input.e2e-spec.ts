import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { CompressionTypes, type Producer } from 'kafkajs';
import { decodeWithCli, readIndexEntries, splitRecords } from './support/archive';
import { hostileCases, type HostileCase } from './support/bad-records';
import {
  createTopics,
  pipelineEnv,
  readTopic,
  testKafka,
  waitForArchive,
} from './support/pipeline';
import { scrape, total } from './support/prometheus';
import { RunningService, startService } from './support/services';

const MAX_RECORD_BYTES = 16 * 1024;
const MAX_APPS = 100;
const APP_LABELS = 10;
const FLOOD = 2000;
const GOOD_APPS = ['good-a', 'good-b', 'good-c'];
const GOOD_PER_PHASE = 30;
/** Above the topics' max.message.bytes (8 MiB) and the splitter's DLQ value cap. */
const HUGE_BYTES = 9 * 1024 * 1024;

/** The pipeline's own spool folders: '_' can never start an app id. */
const SPOOL_INTERNAL = new Set(['_trash']);

/** Byte equality; jest's toEqual walks a Buffer element by element (minutes for 40 MiB). */
const sameBytes = (a: Buffer | null, b: Buffer | null): boolean =>
  a === null || b === null ? a === b : a.equals(b);

type Dead = Awaited<ReturnType<typeof readTopic>>[number];

/** A record as produced, with the raw offset it got. */
interface Sent {
  value: Buffer | null;
  offset: string;
}

/**
 * Issue 3, hostile input: every kind of bad record meets real splitter, compressor and uploader
 * processes on a single raw partition (so admission order is the production order), between good
 * records and before a flood of distinct app ids. Each kind is asserted on its own.
 */
describe('hostile input: every bad record has a clear outcome and nothing escapes the spool or bucket', () => {
  const p = pipelineEnv({
    LOGSPLIT_MAX_RECORD_BYTES: String(MAX_RECORD_BYTES),
    LOGSPLIT_MAX_APPS: String(MAX_APPS),
    LOGSPLIT_METRICS_APP_LABELS: String(APP_LABELS),
    LOGSPLIT_SEGMENT_MAX_AGE_MS: '3000',
    LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
    LOGSPLIT_WRITER_SLOTS: '2',
  });
  const kafka = testKafka();
  const services: RunningService[] = [];
  const cases = hostileCases(MAX_RECORD_BYTES, GOOD_APPS[2]);
  const sentCase = new Map<HostileCase, Sent>();
  const floodIds = Array.from({ length: FLOOD }, (_, i) => `flood-${String(i).padStart(4, '0')}`);
  const floodSent: Sent[] = [];
  /** app → records expected in its archives, in production order. */
  const expected = new Map<string, string[]>();
  /** Apps in order of their first accepted record: the admission order. */
  const firstSeen: string[] = [];
  let huge: Sent;
  let brokerRefusal: unknown;
  let bulkSent: Sent[] = [];
  let dead: Dead[] = [];
  const deadAt = new Map<string, Dead[]>();

  const accept = (app: string, value: Buffer) => {
    if (!expected.has(app)) {
      expected.set(app, []);
      firstSeen.push(app);
    }
    expected.get(app)!.push(value.toString('utf8'));
  };

  async function send(producer: Producer, values: (Buffer | null)[]): Promise<Sent[]> {
    const [meta] = await producer.send({
      topic: p.topics.raw,
      acks: -1,
      messages: values.map((value) => ({ value, partition: 0 })),
    });
    const base = BigInt(meta.baseOffset!);
    return values.map((value, i) => ({ value, offset: String(base + BigInt(i)) }));
  }

  async function good(producer: Producer, phase: string): Promise<void> {
    const values = Array.from({ length: GOOD_PER_PHASE }, (_, i) => {
      const app = GOOD_APPS[i % GOOD_APPS.length];
      return { app, value: Buffer.from(JSON.stringify({ app, phase, n: i, msg: 'ok ü' })) };
    });
    await send(
      producer,
      values.map((v) => v.value),
    );
    for (const v of values) accept(v.app, v.value);
  }

  beforeAll(async () => {
    // One raw partition: the splitter meets the records in exactly the order they are produced.
    await createTopics(kafka, [p.topics.raw], 1);
    await createTopics(kafka, [p.topics.byApp, p.topics.dlq, p.topics.segments], 2);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    try {
      await good(producer, 'before');
      for (const c of cases) {
        const [s] = await send(producer, [c.value]);
        sentCase.set(c, s);
        if ('archivedAs' in c.outcome) accept(c.outcome.archivedAs, c.value!);
      }
      // Too large for the topic uncompressed: the broker refuses it, it never enters. Its own
      // producer, so the refusal cannot disturb the idempotent producer's sequence numbers.
      const plain = kafka.producer({ retry: { retries: 0 } });
      await plain.connect();
      await send(plain, [randomBytes(HUGE_BYTES)]).catch((e: unknown) => (brokerRefusal = e));
      await plain.disconnect();
      // The same size, compressible and gzip-compressed by its producer: the topic takes it.
      const [meta] = await producer.send({
        topic: p.topics.raw,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: [{ value: Buffer.alloc(HUGE_BYTES, '{'), partition: 0 }],
      });
      huge = { value: Buffer.alloc(HUGE_BYTES, '{'), offset: meta.baseOffset! };
      // Many oversized records in one compressed batch: 40 MiB of dead letters from one fetch.
      const bulk = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1 << 20, String(i % 10)));
      const [bulkMeta] = await producer.send({
        topic: p.topics.raw,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: bulk.map((value) => ({ value, partition: 0 })),
      });
      bulkSent = bulk.map((value, i) => ({
        value,
        offset: String(BigInt(bulkMeta.baseOffset!) + BigInt(i)),
      }));
      for (let i = 0; i < FLOOD; i += 500) {
        const values = floodIds
          .slice(i, i + 500)
          .map((app) => Buffer.from(JSON.stringify({ app, msg: 'flood' })));
        floodSent.push(...(await send(producer, values)));
      }
      floodSent.forEach((s, i) => accept(floodIds[i], s.value!));
      await good(producer, 'after');
    } finally {
      await producer.disconnect();
    }
    for (const name of ['splitter', 'compressor', 'uploader'] as const) {
      services.push(await startService(name, p.env));
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
  }, 60_000);

  /** The first MAX_APPS distinct apps are admitted; every other app's records are refused. */
  const admitted = () => new Set(firstSeen.slice(0, MAX_APPS));
  const refusedFlood = () => floodSent.filter((_, i) => !admitted().has(floodIds[i]));
  const archivedCount = () => [...admitted()].reduce((n, app) => n + expected.get(app)!.length, 0);

  it('archives exactly the admitted records, each once, in its own app', async () => {
    await waitForArchive(p, archivedCount(), 300_000, 1000);
    const actual = new Map<string, string[]>();
    for (const e of readIndexEntries(p.bucketDir, p.prefix)) {
      const lines = splitRecords(decodeWithCli(join(p.bucketDir, e.key)));
      expect(lines).toHaveLength(e.records);
      actual.set(e.app, [...(actual.get(e.app) ?? []), ...lines]);
    }
    expect([...actual.keys()].sort()).toEqual([...admitted()].sort());
    for (const app of admitted()) {
      expect({ app, lines: actual.get(app)!.sort() }).toEqual({
        app,
        lines: [...expected.get(app)!].sort(),
      });
    }
    // The good records after the hostile ones and the flood made it too: the pipeline kept going.
    expect(actual.get('good-a')!.filter((l) => l.includes('"phase":"after"'))).toHaveLength(10);
    for (const s of services) expect(s.proc.exitCode).toBeNull();
  }, 360_000);

  it('puts every refused record in the dead-letter topic exactly once', async () => {
    const refused =
      cases.filter((c) => 'dlq' in c.outcome).length + 1 + bulkSent.length + refusedFlood().length;
    dead = await readTopic(kafka, p.topics.dlq, refused, 120_000);
    for (const d of dead) {
      const at = d.headers['logsplit-src-offset'];
      deadAt.set(at, [...(deadAt.get(at) ?? []), d]);
      expect(d.headers['logsplit-src-topic']).toBe(p.topics.raw);
      expect(d.headers['logsplit-src-partition']).toBe('0');
    }
    expect(dead).toHaveLength(refused);
    expect(deadAt.size).toBe(refused);
  }, 180_000);

  describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    if ('dlq' in c.outcome) {
      const reason = c.outcome.dlq;
      it(`goes to the DLQ as ${reason}, with its original bytes`, () => {
        const found = deadAt.get(sentCase.get(c)!.offset) ?? [];
        expect(found).toHaveLength(1);
        expect(found[0].headers['logsplit-dlq-reason']).toBe(reason);
        expect(found[0].headers['logsplit-dlq-detail']).toMatch(/\S/);
        // A tombstone and an empty value both arrive as "nothing"; kafkajs may give either.
        expect(sameBytes(found[0].value ?? Buffer.alloc(0), c.value ?? Buffer.alloc(0))).toBe(true);
      });
    } else {
      const app = c.outcome.archivedAs;
      it(`is archived under ${app}`, () => {
        expect(deadAt.has(sentCase.get(c)!.offset)).toBe(false);
        expect(admitted().has(app)).toBe(true);
      });
    }
  });

  it('refuses a record over the topic limit at produce time (MESSAGE_TOO_LARGE)', () => {
    expect(String(brokerRefusal)).toMatch(/larger than the max message size/i);
  });

  it('keeps the head of a compressed record too large for the DLQ, with its size and SHA-256', () => {
    const [d] = deadAt.get(huge.offset) ?? [];
    expect(d.headers['logsplit-dlq-reason']).toBe('record-too-large');
    expect(d.headers['logsplit-dlq-truncated']).toBe(String(HUGE_BYTES));
    expect(d.headers['logsplit-dlq-sha256']).toBe(
      createHash('sha256').update(huge.value!).digest('hex'),
    );
    expect(sameBytes(d.value, huge.value!.subarray(0, 64 * 1024))).toBe(true);
  });

  it('sends a compressed batch of 40 oversized records (40 MiB) to the DLQ whole', () => {
    for (const b of bulkSent) {
      const [d] = deadAt.get(b.offset) ?? [];
      expect(d?.headers['logsplit-dlq-reason']).toBe('record-too-large');
      expect(sameBytes(d.value, b.value)).toBe(true);
    }
  });

  it(`admits exactly the first ${MAX_APPS} distinct apps; the flood's other records are app-cardinality`, () => {
    // Admitted before the flood: the three good apps and "42" (the integer-id case).
    expect(firstSeen.indexOf(floodIds[0])).toBe(GOOD_APPS.length + 1);
    const refused = refusedFlood();
    expect(refused).toHaveLength(FLOOD - (MAX_APPS - GOOD_APPS.length - 1));
    for (const s of refused) {
      const [d] = deadAt.get(s.offset) ?? [];
      expect(d?.headers['logsplit-dlq-reason']).toBe('app-cardinality');
      expect(sameBytes(d.value, s.value)).toBe(true);
    }
  });

  it('writes no file or directory outside spool/<admitted app>/ and bucket/<prefix>/[_index/]<admitted app>/', () => {
    const root = dirname(p.spoolDir);
    const ok = admitted();
    const stray: string[] = [];
    const visit = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        const parts = relative(root, path).split(sep);
        const allowed =
          (parts[0] === 'spool' &&
            (parts.length === 1 || ok.has(parts[1]) || SPOOL_INTERNAL.has(parts[1]))) ||
          (parts[0] === 'bucket' &&
            (parts.length === 1 ||
              (parts[1] === p.prefix &&
                (parts.length === 2 ||
                  ok.has(parts[2]) ||
                  (parts[2] === '_index' && (parts.length === 3 || ok.has(parts[3])))))));
        if (!allowed) stray.push(relative(root, path));
        if (statSync(path).isDirectory()) visit(path);
      }
    };
    visit(root);
    expect(stray).toEqual([]);
    // Nor above it: what '../../etc/passwd' would have named from the spool and the bucket.
    for (const base of [p.spoolDir, join(p.bucketDir, p.prefix)]) {
      expect(existsSync(resolve(base, '../../etc/passwd'))).toBe(false);
    }
  });

  it('keeps the splitter metrics bounded: app labels, admitted apps, refusals by reason', async () => {
    const splitter = services.find((s) => s.name === 'splitter')!;
    const samples = await scrape(splitter.metricsPort);
    const labels = new Set(
      samples.filter((s) => s.name === 'logsplit_records_out_total').map((s) => s.labels.app),
    );
    expect(labels.size).toBeLessThanOrEqual(APP_LABELS + 1);
    expect(labels.has('other')).toBe(true);
    expect(total(samples, 'logsplit_admitted_apps')).toBe(MAX_APPS);
    expect(total(samples, 'logsplit_dlq_records_total', { reason: 'app-cardinality' })).toBe(
      refusedFlood().length,
    );
    expect(total(samples, 'logsplit_records_out_total')).toBe(archivedCount());
  });
});
