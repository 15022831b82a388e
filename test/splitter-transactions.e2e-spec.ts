import { readFileSync } from 'node:fs';
import { Kafka } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { CHUNK_HEADERS, decodeChunk, DLQ_HEADERS, headerString } from '@logsplit/common';
import { splitRecords } from './support/archive';
import { createTopics, pipelineEnv, testKafka, waitFor } from './support/pipeline';
import { RunningService, startService } from './support/services';

// The readers read committed as the services do: kafkajs patched by the e2e setup (jest.config.js).

const PARTITIONS = 3;
const APPS = 12;
const PER_PARTITION = 3_000;
/** Every raw partition holds dead records too, so the crashed transactions carried some. */
const BAD_PER_PARTITION = 4;

interface Read {
  /** Raw record lines per app, from the chunks. */
  lines: Map<string, string[]>;
  /** Source offsets ("partition:offset") of the dead-letter records. */
  dead: string[];
  chunks: number;
}

/**
 * A splitter dies (SIGKILL) between producing a batch's chunks and committing its transaction;
 * a fresh splitter takes the partitions over. Read committed, the by-app and dead-letter topics
 * hold every raw record exactly once: the dead splitter's open transactions were aborted when
 * the new owner fenced its transactional ids, and its partial output is invisible.
 */
describe('splitter transactions: exactly once across a crash before commit', () => {
  const p = pipelineEnv();
  const kafka = testKafka();
  const services: RunningService[] = [];
  const expected = new Map<string, string[]>();
  const expectedDead: string[] = [];

  beforeAll(async () => {
    await createTopics(kafka, Object.values(p.topics), PARTITIONS);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    for (let part = 0; part < PARTITIONS; part++) {
      const messages: { value: Buffer }[] = [];
      for (let i = 0; i < PER_PARTITION; i++) {
        if (i % (PER_PARTITION / BAD_PER_PARTITION) === 7) {
          expectedDead.push(`${part}:${messages.length}`);
          messages.push({ value: Buffer.from(`not json ${part}/${i}`) });
        }
        const app = `app-${(i * 7 + part) % APPS}`;
        const line = JSON.stringify({ app, part, i, msg: randomBytes(8).toString('hex') });
        if (!expected.has(app)) expected.set(app, []);
        expected.get(app)!.push(line);
        messages.push({ value: Buffer.from(line) });
      }
      for (let i = 0; i < messages.length; i += 1000) {
        await producer.send({
          topic: p.topics.raw,
          acks: -1,
          messages: messages.slice(i, i + 1000).map((m) => ({ ...m, partition: part })),
        });
      }
    }
    await producer.disconnect();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
  }, 60_000);

  it('dies at splitter.before-commit; a new splitter leaves every record exactly once', async () => {
    const committed = await startReader(kafka, p.topics.byApp, false);
    const doomed = await startService('splitter', {
      ...p.env,
      LOGSPLIT_CRASH_AT: 'splitter.before-commit:2',
    });
    services.push(doomed);
    const code = await waitFor('the splitter to kill itself', () => exitOf(doomed), 120_000);
    expect(code).toBeNull(); // killed by a signal, not exited
    expect(readFileSync(doomed.logFile, 'utf8')).toContain(
      'crash point splitter.before-commit reached',
    );

    // The dead member holds its partitions until its session times out (30 s); then the new
    // member owns them and fences the dead one's transactional ids, aborting what was open.
    services.push(await startService('splitter', p.env));
    const rawRecords = PARTITIONS * PER_PARTITION;
    await waitFor(
      'every raw record in committed chunks',
      () => (sum(committed.read.lines) >= rawRecords ? true : undefined),
      240_000,
      1_000,
    );
    await settle(() => sum(committed.read.lines));
    await committed.stop();

    expect([...committed.read.lines.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [app, lines] of expected) {
      expect({ app, lines: [...(committed.read.lines.get(app) ?? [])].sort() }).toEqual({
        app,
        lines: [...lines].sort(),
      });
    }
    // The crash did leave chunks in the log, which read_committed hides: uncommitted, there is more.
    const all = await startReader(kafka, p.topics.byApp, true);
    await waitFor(
      'the uncommitted view',
      () => (sum(all.read.lines) > rawRecords ? true : undefined),
      60_000,
    );
    await settle(() => sum(all.read.lines));
    await all.stop();
    process.stderr.write(
      `splitter-transactions: committed ${sum(committed.read.lines)} records in ${committed.read.chunks} chunks ` +
        `(raw ${rawRecords}); uncommitted view ${sum(all.read.lines)} records in ${all.read.chunks} chunks\n`,
    );
  }, 400_000);

  it('does not duplicate dead-letter records across the crash either', async () => {
    const committed = await startReader(kafka, p.topics.dlq, false);
    await waitFor(
      'the dead-letter records',
      () => (committed.read.dead.length >= expectedDead.length ? true : undefined),
      60_000,
    );
    await settle(() => committed.read.dead.length);
    await committed.stop();
    expect([...committed.read.dead].sort()).toEqual([...expectedDead].sort());

    const all = await startReader(kafka, p.topics.dlq, true);
    await waitFor(
      'the uncommitted dead-letter view',
      () => (all.read.dead.length > expectedDead.length ? true : undefined),
      60_000,
    );
    await all.stop();
  }, 120_000);
});

/** Consumes a topic (chunks or dead-letter records) from the beginning until stopped. */
async function startReader(kafka: Kafka, topic: string, readUncommitted: boolean) {
  const consumer = kafka.consumer({
    groupId: `reader-${randomBytes(4).toString('hex')}`,
    readUncommitted,
  });
  const read: Read = { lines: new Map(), dead: [], chunks: 0 };
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message: m }) => {
      if (headerString(m.headers, DLQ_HEADERS.reason) !== undefined) {
        const part = headerString(m.headers, DLQ_HEADERS.sourcePartition);
        read.dead.push(`${part}:${headerString(m.headers, DLQ_HEADERS.sourceOffset)}`);
      } else if (headerString(m.headers, CHUNK_HEADERS.app) !== undefined) {
        const chunk = decodeChunk(m.value, m.headers);
        read.chunks++;
        if (!read.lines.has(chunk.app)) read.lines.set(chunk.app, []);
        read.lines.get(chunk.app)!.push(...splitRecords(chunk.payload));
      }
    },
  });
  return { read, stop: () => consumer.disconnect() };
}

/** Waits until a count stops growing for a few seconds, so late (duplicate) records show too. */
async function settle(count: () => number): Promise<void> {
  let last = -1;
  while (count() !== last) {
    last = count();
    await new Promise((r) => setTimeout(r, 3_000));
  }
}

function exitOf(s: RunningService): Promise<number | null | undefined> {
  return Promise.race([
    s.exited,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
  ]);
}

const sum = (m: Map<string, string[]>) => [...m.values()].reduce((n, l) => n + l.length, 0);
