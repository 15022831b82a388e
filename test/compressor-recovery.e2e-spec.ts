import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin } from 'kafkajs';
import { CrashPoint } from '@logsplit/common/fault';
import { decodeWithCli, readIndexEntries, splitRecords } from './support/archive';
import {
  createTopics,
  PipelineEnv,
  pipelineEnv,
  produceGoodRecords,
  spoolRecords,
  testKafka,
  waitFor,
  waitForArchive,
} from './support/pipeline';
import { RunningService, startService } from './support/services';

const RECORDS = 3000;
const APPS = 12;
const PARTITIONS = 3;

/**
 * Where the compressor dies, and on which arrival at the point. Counts are chosen so that the
 * crash lands after earlier work of the same run was made durable.
 */
const CRASHES: { point: CrashPoint; nth: number }[] = [
  { point: 'compressor.holding-lock', nth: 5 },
  { point: 'compressor.after-block', nth: 8 },
  { point: 'compressor.mid-batch', nth: 1 },
  { point: 'compressor.before-commit', nth: 2 },
];

interface Outcome {
  /** Records per app, as archived, that the raw topic did not hold that often (or at all). */
  duplicated: number;
  lost: number;
  /** Records confirmed on the spool when the compressor died. */
  durableAtCrash: number;
  archivedRecords: number;
}

/**
 * SIGKILL of the compressor at its worst moments: holding a slot lease, between a block's data
 * and its manifest line, between the apps of a batch, and between a durable batch and its offset
 * commit. A fresh compressor replays from the committed offsets, and each archive must still
 * hold every record of its app exactly once.
 */
describe('compressor recovery: SIGKILL at each crash point, no record lost or duplicated', () => {
  const kafka = testKafka();
  const services: RunningService[] = [];
  const outcomes = new Map<CrashPoint, Promise<Outcome>>();
  /** Topics are created one pipeline at a time: concurrent creates race in kafkajs' admin. */
  let creating: Promise<unknown> = Promise.resolve();

  beforeAll(() => {
    // The four pipelines run side by side: most of each one's time is waiting for the group.
    for (const [i, crash] of CRASHES.entries()) {
      const outcome = crashAndRecover(crash, 100 + i);
      outcome.catch(() => undefined); // reported by its own test
      outcomes.set(crash.point, outcome);
    }
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
  }, 60_000);

  it.each(CRASHES)(
    '$point:$nth',
    async ({ point }) => {
      const o = await outcomes.get(point)!;
      process.stderr.write(
        `compressor recovery at ${point}: ${o.durableAtCrash} records durable at the crash, ` +
          `${o.archivedRecords} archived, lost ${o.lost}, duplicated ${o.duplicated}\n`,
      );
      expect({ point, lost: o.lost, duplicated: o.duplicated }).toEqual({
        point,
        lost: 0,
        duplicated: 0,
      });
      expect(o.archivedRecords).toBe(RECORDS);
      if (point === 'compressor.mid-batch' || point === 'compressor.before-commit') {
        // Work the replay had to skip, not merely redo.
        expect(o.durableAtCrash).toBeGreaterThan(0);
      }
    },
    420_000,
  );

  async function crashAndRecover(
    crash: { point: CrashPoint; nth: number },
    seed: number,
  ): Promise<Outcome> {
    const p = pipelineEnv({
      LOGSPLIT_SEGMENT_MAX_AGE_MS: '20000',
      LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
      LOGSPLIT_MAX_MEMBER_BYTES: '4096',
      LOGSPLIT_LOCK_TTL_MS: '5000',
      LOGSPLIT_WRITER_SLOTS: '2',
    });
    const produced = creating.then(() => produce(p, seed));
    creating = produced.catch(() => undefined);
    const expected = await produced;
    services.push(await startService('splitter', p.env));
    // Everything is split before the compressor starts: its batches then hold many apps.
    await waitForGroup(p.env.LOGSPLIT_SPLITTER_GROUP, p.topics.raw);
    services.push(await startService('uploader', p.env));

    const doomed = await startService('compressor', {
      ...p.env,
      LOGSPLIT_CRASH_AT: `${crash.point}:${crash.nth}`,
    });
    services.push(doomed);
    await waitFor(
      `the compressor to die at ${crash.point}`,
      () => (doomed.proc.signalCode === 'SIGKILL' ? true : undefined),
      120_000,
    );
    expect(readFileSync(doomed.logFile, 'utf8')).toContain(`crash point ${crash.point} reached`);
    const durableAtCrash = sum(spoolRecords(p.spoolDir));

    services.push(await startService('compressor', p.env));
    await waitForArchive(p, RECORDS, 300_000, 1000);
    return { ...count(p, expected), durableAtCrash };
  }

  async function produce(p: PipelineEnv, seed: number): Promise<Map<string, string[]>> {
    await createTopics(kafka, Object.values(p.topics), PARTITIONS);
    return produceGoodRecords(kafka, p.topics.raw, RECORDS, APPS, seed);
  }

  /** Until `group` has committed every message of `topic`. */
  async function waitForGroup(group: string, topic: string): Promise<void> {
    const admin: Admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor(
        `${group} to commit all of ${topic}`,
        async () => {
          const ends = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
          const done = ends.every((e) => {
            const c = committed.partitions.find((x) => x.partition === e.partition);
            return c !== undefined && Number(c.offset) >= Number(e.high);
          });
          return done ? true : undefined;
        },
        120_000,
      );
    } finally {
      await admin.disconnect();
    }
  }
});

/** Per app, archived records against produced ones, as multisets. */
function count(
  p: PipelineEnv,
  expected: Map<string, string[]>,
): Pick<Outcome, 'lost' | 'duplicated' | 'archivedRecords'> {
  const actual = new Map<string, Map<string, number>>();
  let archivedRecords = 0;
  for (const e of readIndexEntries(p.bucketDir, p.prefix)) {
    const lines = splitRecords(decodeWithCli(join(p.bucketDir, e.key)));
    archivedRecords += lines.length;
    const tally = actual.get(e.app) ?? new Map<string, number>();
    for (const l of lines) tally.set(l, (tally.get(l) ?? 0) + 1);
    actual.set(e.app, tally);
  }
  let lost = 0;
  let duplicated = 0;
  for (const [app, lines] of expected) {
    const want = new Map<string, number>();
    for (const l of lines) want.set(l, (want.get(l) ?? 0) + 1);
    const got = actual.get(app) ?? new Map<string, number>();
    for (const [l, n] of want) lost += Math.max(0, n - (got.get(l) ?? 0));
    for (const [l, n] of got) duplicated += Math.max(0, n - (want.get(l) ?? 0));
  }
  for (const [app, got] of actual) {
    if (!expected.has(app)) for (const n of got.values()) duplicated += n;
  }
  return { lost, duplicated, archivedRecords };
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
