import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeChunkHeaders } from '@logsplit/common';
import { decodeWithCli, readIndexEntries, splitRecords } from './support/archive';
import {
  createTopics,
  pipelineEnv,
  spoolRecords,
  testKafka,
  waitFor,
  waitForArchive,
} from './support/pipeline';
import { RunningService, startService } from './support/services';

const SLOTS = 2;
const HOT = 'hot-app';
const CHUNKS = 600;
const PER_CHUNK = 40;
const PARTITIONS = 6;

/**
 * Two compressors append to one hot app at once (its chunks arrive on every partition), with
 * only two writer slots: the Redis slot leases alone keep the files whole.
 */
describe('locking: two compressors, one hot app, N slots', () => {
  const p = pipelineEnv({
    LOGSPLIT_WRITER_SLOTS: String(SLOTS),
    LOGSPLIT_SEGMENT_MAX_BYTES: String(16 * 1024),
    LOGSPLIT_MAX_MEMBER_BYTES: String(8 * 1024),
    LOGSPLIT_SEGMENT_MAX_AGE_MS: '5000',
    LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
  });
  const kafka = testKafka();
  const services: RunningService[] = [];
  let maxOpenSlots = 0;
  let sampler: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    await createTopics(kafka, Object.values(p.topics), PARTITIONS);
    services.push(await startService('compressor', p.env), await startService('compressor', p.env));
    await waitForMembers(p.env.LOGSPLIT_COMPRESSOR_GROUP, 2);
    sampler = setInterval(() => {
      const open = join(p.spoolDir, HOT, 'open');
      if (existsSync(open)) maxOpenSlots = Math.max(maxOpenSlots, readdirSync(open).length);
    }, 20);
  }, 120_000);

  afterAll(async () => {
    clearInterval(sampler);
    await Promise.all(services.map((s) => s.stop()));
  }, 60_000);

  async function waitForMembers(group: string, n: number) {
    const admin = kafka.admin();
    await admin.connect();
    await waitFor(
      `${n} members in ${group}`,
      async () => {
        const { groups } = await admin.describeGroups([group]);
        return groups[0]?.state === 'Stable' && groups[0].members.length === n ? true : undefined;
      },
      60_000,
    );
    await admin.disconnect();
  }

  it('keeps every file whole and every record, with at most N open files', async () => {
    const expected: string[] = [];
    const messages = [];
    for (let c = 0; c < CHUNKS; c++) {
      const lines = Array.from(
        { length: PER_CHUNK },
        (_, i) => `{"app":"${HOT}","chunk":${c},"i":${i},"pad":"${'z'.repeat(c % 50)}"}`,
      );
      expected.push(...lines);
      messages.push({
        key: HOT,
        partition: c % PARTITIONS,
        value: Buffer.from(lines.join('\n') + '\n'),
        headers: encodeChunkHeaders({
          app: HOT,
          records: PER_CHUNK,
          source: {
            topic: 'raw',
            partition: c % PARTITIONS,
            firstOffset: String(c),
            lastOffset: String(c),
          },
          minTime: 1_700_000_000_000 + c,
          maxTime: 1_700_000_000_000 + c,
        }),
      });
    }
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < messages.length; i += 100) {
      await producer.send({
        topic: p.topics.byApp,
        acks: -1,
        messages: messages.slice(i, i + 100),
      });
    }
    await producer.disconnect();

    // The uploader starts late so that open segments pile up while both compressors write.
    await waitFor(
      'compressors to drain',
      () => (sum(spoolRecords(p.spoolDir)) >= expected.length ? true : undefined),
      120_000,
    );
    services.push(await startService('uploader', p.env));
    await waitForArchive(p, expected.length, 120_000);

    const entries = readIndexEntries(p.bucketDir, p.prefix);
    const slotsUsed = new Set(entries.map((e) => /-s(\d+)-/.exec(e.segmentId)![1]));
    const actual: string[] = [];
    for (const e of entries) {
      const file = join(p.bucketDir, e.key);
      const bytes = readFileSync(file);
      // Every block decodes on its own: no member was torn or interleaved with another.
      for (const b of e.blocks) {
        const block = bytes.subarray(b.offset, b.offset + b.length);
        const text = execFileSync('gzip', ['-dc'], { input: block }).toString('utf8');
        expect(splitRecords(Buffer.from(text))).toHaveLength(b.records);
      }
      actual.push(...splitRecords(decodeWithCli(file)));
    }
    expect(maxOpenSlots).toBeGreaterThan(0);
    expect(maxOpenSlots).toBeLessThanOrEqual(SLOTS);
    expect([...slotsUsed].every((s) => Number(s) < SLOTS)).toBe(true);
    expect(actual.length).toBe(expected.length);
    expect(actual.sort()).toEqual(expected.sort());
    process.stderr.write(
      `locking: ${entries.length} files, slots used ${[...slotsUsed].sort().join(',')}, max open files ${maxOpenSlots}\n`,
    );
  }, 300_000);
});

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
