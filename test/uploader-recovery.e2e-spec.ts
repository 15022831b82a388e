import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CrashPoint } from '@logsplit/common/fault';
import { OssTestServer } from '@logsplit/testing';
import {
  ArchivedIndexEntry,
  decodeWithCli,
  listDataObjects,
  readIndexEntries,
  splitRecords,
} from './support/archive';
import {
  createTopics,
  PipelineEnv,
  pipelineEnv,
  produceGoodRecords,
  spoolSegments,
  testKafka,
  waitFor,
  waitForArchive,
} from './support/pipeline';
import { IndexedRecords, mirrorBucket } from './support/oss-bucket';
import { RunningService, startService } from './support/services';

const RECORDS = 3000;
const APPS = 12;

/**
 * The uploader's promise under crashes and a failing store: whatever moment it dies at, and
 * however often the store errs or hangs, every record ends up in exactly one archived object of
 * its app, each object has exactly one index entry describing it, and the spool drains.
 */
function smallPipeline(overrides: Record<string, string> = {}): PipelineEnv {
  return pipelineEnv({
    LOGSPLIT_SEGMENT_MAX_AGE_MS: '2000',
    LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
    LOGSPLIT_WRITER_SLOTS: '2',
    ...overrides,
  });
}

async function produce(p: PipelineEnv, seed: number) {
  const kafka = testKafka();
  await createTopics(kafka, Object.values(p.topics), 3);
  return produceGoodRecords(kafka, p.topics.raw, RECORDS, APPS, seed);
}

interface Indexed extends ArchivedIndexEntry {
  md5: string;
}

/** Exactly once per app; one object per segment; one index entry per object, describing it. */
function auditArchive(bucketDir: string, prefix: string, expected: Map<string, string[]>) {
  const entries = readIndexEntries(bucketDir, prefix) as Indexed[];
  const objects = listDataObjects(bucketDir, prefix).sort();
  expect(entries.map((e) => e.key).sort()).toEqual(objects);
  expect(new Set(entries.map((e) => e.segmentId)).size).toBe(entries.length);
  const actual = new Map<string, string[]>();
  for (const e of entries) {
    const file = join(bucketDir, e.key);
    const body = readFileSync(file);
    expect({
      key: e.key,
      size: body.length,
      md5: createHash('md5').update(body).digest('hex'),
    }).toEqual({ key: e.key, size: e.bytes, md5: e.md5 });
    expect(basename(e.key)).toMatch(new RegExp(`^${e.segmentId}\\.log\\.gz$`));
    const lines = splitRecords(decodeWithCli(file));
    expect(lines).toHaveLength(e.records);
    actual.set(e.app, [...(actual.get(e.app) ?? []), ...lines]);
  }
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [app, lines] of expected) {
    expect({ app, lines: [...actual.get(app)!].sort() }).toEqual({ app, lines: [...lines].sort() });
  }
  return { entries: entries.length, records: entries.reduce((n, e) => n + e.records, 0) };
}

function noTrashLeft(spoolDir: string): void {
  const trash = join(spoolDir, '_trash');
  expect(existsSync(trash) ? readdirSync(trash) : []).toEqual([]);
}

async function crashed(service: RunningService, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`${service.name} did not reach its crash point; see ${service.logFile}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.each<[CrashPoint, number]>([
  ['uploader.after-upload', 11],
  ['uploader.after-index', 12],
])('uploader recovery: SIGKILL at %s', (point, seed) => {
  const p = smallPipeline();
  const services: RunningService[] = [];
  let expected: Map<string, string[]>;

  beforeAll(async () => {
    expected = await produce(p, seed);
    services.push(await startService('splitter', p.env));
    services.push(await startService('compressor', p.env));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
  }, 60_000);

  it('dies at the point, and a fresh uploader completes the archive exactly once', async () => {
    // One lane, so the crash leaves exactly one segment half done; its successor uses the default.
    const doomed = await startService('uploader', {
      ...p.env,
      LOGSPLIT_CRASH_AT: point,
      LOGSPLIT_UPLOAD_CONCURRENCY: '1',
    });
    services.push(doomed);
    expect(await crashed(doomed, 120_000)).toBeNull(); // killed by a signal, not an exit
    expect(doomed.proc.signalCode).toBe('SIGKILL');
    expect(readFileSync(doomed.logFile, 'utf8')).toContain(`crash point ${point} reached`);

    // The crash left a segment half done: its object stored, its local copy still sealed.
    const indexed = new Set(readIndexEntries(p.bucketDir, p.prefix).map((e) => e.key));
    const objects = listDataObjects(p.bucketDir, p.prefix);
    const sealed = new Set(spoolSegments(p.spoolDir).map((s) => basename(s)));
    const halfDone = objects.filter((k) => sealed.has(basename(k).replace(/\.log\.gz$/, '')));
    expect(halfDone).toHaveLength(1);
    expect(indexed.has(halfDone[0])).toBe(point === 'uploader.after-index');

    services.push(await startService('uploader', p.env));
    await waitForArchive(p, RECORDS, 180_000);
    const audit = auditArchive(p.bucketDir, p.prefix, expected);
    expect(audit.records).toBe(RECORDS);
    noTrashLeft(p.spoolDir);
    process.stderr.write(
      `uploader recovery (${point}): ${RECORDS} records over ${expected.size} apps in ${audit.entries} objects, each once\n`,
    );
  }, 400_000);
});

describe('uploader against an OSS that fails 20% of requests (errors, resets, hangs)', () => {
  let oss: OssTestServer;
  let p: PipelineEnv;
  const services: RunningService[] = [];
  let expected: Map<string, string[]>;

  beforeAll(async () => {
    oss = await OssTestServer.start();
    p = smallPipeline({
      // Small chunks, blocks and segments: many objects, so many requests for the faults to hit.
      // (The workload's longest record has 919 bytes.)
      LOGSPLIT_MAX_RECORD_BYTES: '1000',
      LOGSPLIT_MAX_CHUNK_BYTES: '2048',
      LOGSPLIT_MAX_MEMBER_BYTES: '2048',
      LOGSPLIT_SEGMENT_MAX_BYTES: '4096',
      ...oss.env(),
      // A hung request is given up after this; the retry then goes out at once.
      OSS_TIMEOUT_MS: '1500',
      LOGSPLIT_STORE_RETRY_BASE_MS: '50',
      LOGSPLIT_STORE_RETRY_MAX_MS: '1000',
    });
    oss.failRandomly({ rate: 0.2, seed: 2026 });
    expected = await produce(p, 13);
    for (const name of ['splitter', 'compressor', 'uploader'] as const) {
      services.push(await startService(name, p.env));
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await oss?.close();
  }, 60_000);

  it('archives every record exactly once despite the faults', async () => {
    const indexed = new IndexedRecords(oss, p.prefix);
    await waitFor(
      `${RECORDS} records indexed in OSS and the spool drained`,
      () => (indexed.count() >= RECORDS && spoolSegments(p.spoolDir).length === 0) || undefined,
      300_000,
      1000,
    );
    const injected = oss.injectedFaults();
    oss.failRandomly(undefined);
    const byFault = new Map<string, number>();
    for (const r of oss.requests) {
      if (r.fault !== undefined)
        byFault.set(String(r.fault), (byFault.get(String(r.fault)) ?? 0) + 1);
    }
    expect(injected).toBeGreaterThan(0);
    expect(byFault.get('hang') ?? 0).toBeGreaterThan(0);
    // Faults injected after the put was carried out: the retry met the object (409) and the
    // uploader took it as done because its bytes were the expected ones.
    const alreadyThere = oss.requests.filter((r) => r.status === 409).length;
    expect(alreadyThere).toBeGreaterThan(0);

    const mirror = join(dirname(p.spoolDir), 'oss-mirror');
    mirrorBucket(oss, mirror);
    const audit = auditArchive(mirror, p.prefix, expected);
    expect(audit.records).toBe(RECORDS);
    noTrashLeft(p.spoolDir);
    const uploader = services.find((s) => s.name === 'uploader')!;
    const retries =
      readFileSync(uploader.logFile, 'utf8').match(/; retry \d+\/\d+ in/g)?.length ?? 0;
    expect(retries).toBeGreaterThan(0);
    process.stderr.write(
      `uploader vs flaky OSS: ${RECORDS} records in ${audit.entries} objects, each once; ` +
        `${injected} faults injected in ${oss.requests.length} requests (${[...byFault].map(([f, n]) => `${f}: ${n}`).join(', ')}); ` +
        `${retries} store retries logged; ${alreadyThere} puts found an earlier attempt's object (409)\n`,
    );
  }, 400_000);
});

/** Records in the index entries the OSS test server holds, read in-process (no faults). */
