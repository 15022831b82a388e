import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { OssTestServer } from '@logsplit/testing';
import { generateGoodRecords } from '@logsplit/workload';
import { readIndexEntries } from './support/archive';
import {
  createTopics,
  pipelineEnv,
  spoolRecords,
  testKafka,
  waitFor,
  waitForArchive,
} from './support/pipeline';
import { DIST, RunningService, startService } from './support/services';

const PHASES = 3;
const PER_PHASE = 1500;
const APPS = 20;
const APP = 'app-0000'; // the hottest app of the Zipf-skewed workload
const MIN = 60_000;
const SEGMENT_MAX_AGE_MS = 3000;

/**
 * The read path against a real run: records produced in three phases whose Kafka timestamps are
 * ten minutes apart. Each phase is durable before the next is sent, so no block mixes phases and
 * a window around the middle phase must return exactly its records (the window is
 * block-granular, docs/reading-logs.md).
 */
describe('read path: logsplit logs reads back one app from a real run', () => {
  const p = pipelineEnv({
    LOGSPLIT_SEGMENT_MAX_AGE_MS: String(SEGMENT_MAX_AGE_MS),
    LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
    LOGSPLIT_WRITER_SLOTS: '2',
  });
  const kafka = testKafka();
  const services: RunningService[] = [];
  // Phase k's records are stamped base + k * 10 min + seq ms (all within one minute).
  const base = Date.now() - 40 * MIN;
  const phaseStart = (k: number) => base + k * 10 * MIN;
  const phases = Array.from({ length: PHASES }, (_, k) =>
    generateGoodRecords(PER_PHASE, APPS, 1000 + k).map((r, i) => ({
      ...r,
      timestamp: phaseStart(k) + i * 20,
      line: r.value.toString('utf8').replace(/\n$/, ''),
    })),
  );
  const linesOf = (k: number) => phases[k].filter((r) => r.app === APP).map((r) => r.line);
  let oss: OssTestServer;

  beforeAll(async () => {
    oss = await OssTestServer.start();
    await createTopics(kafka, Object.values(p.topics), 3);
    for (const name of ['splitter', 'compressor', 'uploader'] as const) {
      services.push(await startService(name, p.env));
    }
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    let sent = 0;
    for (const phase of phases) {
      await producer.send({
        topic: p.topics.raw,
        acks: -1,
        messages: phase.map((r) => ({ value: r.value, timestamp: String(r.timestamp) })),
      });
      sent += phase.length;
      await waitFor(
        `${sent} records durable`,
        () => (durableRecords(p.bucketDir, p.prefix, p.spoolDir) >= sent ? true : undefined),
        60_000,
        250,
      );
      // Past the segment age, so the next phase starts new segments: a window then has
      // segments to skip, not only blocks.
      await new Promise((r) => setTimeout(r, SEGMENT_MAX_AGE_MS + 500));
    }
    await producer.disconnect();
    await waitForArchive(p, sent, 60_000);
  }, 150_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await oss?.close();
  }, 60_000);

  const window = [
    '--since',
    new Date(phaseStart(1) - MIN).toISOString(),
    '--until',
    new Date(phaseStart(1) + 2 * MIN).toISOString(),
  ];

  it("returns exactly the window's records of the app and touches only that app's objects (fs)", async () => {
    const statsFile = join(p.bucketDir, '..', 'stats.json');
    const { stdout, stderr } = await cli(['logs', '--app', APP, ...window, '--stats', statsFile], {
      ...p.env,
    });
    const lines = splitLines(stdout);
    expect(lines.length).toBeGreaterThan(100);
    expect([...lines].sort()).toEqual([...linesOf(1)].sort());
    expect(stderr).toMatch(new RegExp(`logsplit logs ${APP}: ${lines.length} records`));

    const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as Stats;
    for (const prefix of stats.listed) expect(prefix).toMatch(/^logs\/_index\/app-0000\/dt=/);
    for (const r of stats.reads) expect(r.key).toMatch(/^logs\/(_index\/)?app-0000\//);

    const bucket = bucketInventory(p.bucketDir);
    const appObjects = bucket.filter((o) => /^logs\/(_index\/)?app-0000\//.test(o.key));
    const fetched = new Set(stats.reads.map((r) => r.key));
    const fetchedBytes = stats.reads.reduce((n, r) => n + r.bytes, 0);
    const total = bucket.reduce((n, o) => n + o.size, 0);
    const appSegments = readIndexEntries(p.bucketDir, p.prefix).filter((e) => e.app === APP);
    expect(appSegments.length).toBeGreaterThanOrEqual(PHASES);
    expect(stats.dataObjects).toBeLessThan(appSegments.length);
    expect(fetched.size).toBeLessThan(appObjects.length);
    expect(fetchedBytes).toBeLessThan(total);
    process.stderr.write(
      `read path (fs): ${APP}, window ${window[1]}..${window[3]}: ${lines.length} records; ` +
        `fetched ${fetched.size} objects (${stats.indexObjects} index entries, ` +
        `${stats.dataObjects} segments in ${stats.dataRequests} ranged reads), ` +
        `${fetchedBytes} B (${stats.indexBytes} B index + ${stats.dataBytes} B data); ` +
        `app has ${appObjects.length} objects (${appSegments.length} segments + index entries), ` +
        `${appObjects.reduce((n, o) => n + o.size, 0)} B; ` +
        `whole bucket ${bucket.length} objects, ${total} B\n`,
    );
  }, 60_000);

  it('streams all of the app in time order: phase by phase', async () => {
    const { stdout } = await cli(['logs', '--app', APP, '--quiet'], p.env);
    expect(splitLines(stdout)).toHaveLength(countAll());
    const phaseOf = new Map<string, number>();
    phases.forEach((ph, k) => ph.forEach((r) => phaseOf.set(r.line, k)));
    const seq = splitLines(stdout).map((l) => phaseOf.get(l));
    expect(seq).toEqual([...seq].sort());
    expect(new Set(seq)).toEqual(new Set([0, 1, 2]));
  }, 60_000);

  it('reads the same records through the OSS driver, and OSS sees only that app', async () => {
    for (const o of bucketInventory(p.bucketDir)) {
      oss.putObject(o.key, readFileSync(join(p.bucketDir, o.key)));
    }
    oss.requests.length = 0;
    const { stdout } = await cli(['logs', '--app', APP, ...window, '--quiet'], {
      ...p.env,
      ...oss.env(),
    });
    expect([...splitLines(stdout)].sort()).toEqual([...linesOf(1)].sort());

    const lists = oss.requests.filter((r) => r.op === 'ListObjectsV2');
    const gets = oss.requests.filter((r) => r.op !== 'ListObjectsV2');
    expect(lists.length).toBeGreaterThan(0);
    for (const r of lists) expect(r.prefix).toMatch(/^logs\/_index\/app-0000\/dt=/);
    for (const r of gets) expect(r.key).toMatch(/^logs\/(_index\/)?app-0000\//);
    const indexGets = gets.filter((r) => r.key.includes('/_index/'));
    const dataGets = gets.filter((r) => !r.key.includes('/_index/'));
    // Whole index entries (200), byte ranges of segments (206): never a whole segment.
    for (const r of indexGets) expect(r).toMatchObject({ op: 'GetObject', status: 200 });
    for (const r of dataGets) expect(r).toMatchObject({ op: 'GetObject', status: 206 });
    const bytes = (rs: typeof gets) => rs.reduce((n, r) => n + (r.bytes ?? 0), 0);
    const bucket = bucketInventory(p.bucketDir);
    const total = bucket.reduce((n, o) => n + o.size, 0);
    expect(bytes(gets)).toBeLessThan(total);
    process.stderr.write(
      `read path (oss): ${APP}: ${oss.requests.length} requests = ${lists.length} listings of ` +
        `${APP}'s index + ${indexGets.length} index gets (${bytes(indexGets)} B) + ` +
        `${dataGets.length} ranged gets of ${new Set(dataGets.map((r) => r.key)).size} segments ` +
        `(${bytes(dataGets)} B); whole bucket ${bucket.length} objects, ${total} B\n`,
    );
  }, 60_000);

  it('logsplit apps lists every app with its records, from the index', async () => {
    const { stdout } = await cli(['apps', '--json'], p.env);
    const apps = splitLines(stdout).map((l) => JSON.parse(l) as { app: string; records: number });
    const expected = new Map<string, number>();
    for (const r of phases.flat()) expected.set(r.app, (expected.get(r.app) ?? 0) + 1);
    expect(Object.fromEntries(apps.map((a) => [a.app, a.records]))).toEqual(
      Object.fromEntries([...expected].sort()),
    );
  }, 60_000);

  function countAll(): number {
    return phases.reduce((n, _, k) => n + linesOf(k).length, 0);
  }
});

interface Stats {
  listed: string[];
  reads: { key: string; bytes: number }[];
  indexObjects: number;
  indexBytes: number;
  dataObjects: number;
  dataRequests: number;
  dataBytes: number;
}

/** Runs the built CLI as its own process (asynchronously: the OSS test server is in this one). */
function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(DIST, 'apps/cli/src/main.js'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    proc.stdout.on('data', (b: Buffer) => out.push(b));
    proc.stderr.on('data', (b: Buffer) => err.push(b));
    proc.once('error', reject);
    proc.once('exit', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`logsplit ${args.join(' ')} exited with ${code}:\n${stderr}`));
    });
  });
}

function splitLines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** Every object in the fs bucket, with its size. */
function bucketInventory(root: string): { key: string; size: number }[] {
  const out: { key: string; size: number }[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else out.push({ key: relative(root, path), size: st.size });
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

/** Records durable so far: archived segments from the index, the rest from spool manifests. */
function durableRecords(bucketDir: string, prefix: string, spoolDir: string): number {
  const perSegment = new Map<string, number>();
  for (const e of readIndexEntries(bucketDir, prefix)) perSegment.set(e.segmentId, e.records);
  for (const [segmentId, records] of spoolRecords(spoolDir)) {
    perSegment.set(segmentId, Math.max(perSegment.get(segmentId) ?? 0, records));
  }
  return [...perSegment.values()].reduce((a, b) => a + b, 0);
}
