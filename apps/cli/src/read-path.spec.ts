import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  createCodec,
  FsStorageDriver,
  indexEntryKey,
  OssStorageDriver,
  segmentObjectKey,
  StorageDriver,
} from '@logsplit/common';
import { OssTestServer } from '@logsplit/testing';
import { listApps } from './apps.command';
import { LogsOptions, runLogs } from './logs.command';

const PREFIX = 'logs';
const T0 = Date.parse('2026-11-20T10:00:00Z');
const MIN = 60_000;

interface Block {
  minute: number;
  lines: string[];
}
interface Segment {
  app: string;
  id: string;
  codec: 'gzip' | 'zstd';
  blocks: Block[];
}

/** Block k of a segment holds records stamped in [T0 + minute, T0 + minute + 30 s]. */
function segment(app: string, id: string, codec: 'gzip' | 'zstd', minutes: number[]): Segment {
  return {
    app,
    id,
    codec,
    blocks: minutes.map((minute) => ({
      minute,
      lines: Array.from({ length: 3 }, (_, i) => `${app} ${id} m${minute} #${i} ✓`),
    })),
  };
}

// 'app-a' is the app read; 'app-ab' shares its name as a string prefix and must stay untouched.
// Two segments of app-a interleave in time, as two writer slots' files do.
const SEGMENTS: Segment[] = [
  segment('app-a', 's1', 'gzip', [0, 2, 4, 6]),
  segment('app-a', 's2', 'zstd', [1, 3, 5, 7]),
  segment('app-ab', 's3', 'gzip', [0, 1, 2, 3, 4, 5, 6, 7]),
  segment('app-b', 's4', 'zstd', [2, 3, 4]),
];

/** Objects exactly as the uploader lays them out: data file + index entry with block ranges. */
async function bucketObjects(): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  for (const s of SEGMENTS) {
    const codec = createCodec(s.codec, 3);
    const parts: Buffer[] = [];
    const blocks = [];
    let offset = 0;
    for (const b of s.blocks) {
      const payload = await codec.compress(Buffer.from(b.lines.map((l) => `${l}\n`).join('')));
      parts.push(payload);
      blocks.push({
        offset,
        length: payload.length,
        records: b.lines.length,
        minTime: T0 + b.minute * MIN,
        maxTime: T0 + b.minute * MIN + 30_000,
      });
      offset += payload.length;
    }
    const key = segmentObjectKey(PREFIX, s.app, s.id, T0, codec.extension);
    objects.set(key, Buffer.concat(parts));
    const entry = {
      version: 1,
      app: s.app,
      segmentId: s.id,
      key,
      codec: s.codec,
      bytes: offset,
      rawBytes: 0,
      records: blocks.reduce((n, b) => n + b.records, 0),
      minTime: blocks[0].minTime,
      maxTime: blocks[blocks.length - 1].maxTime,
      md5: '',
      createdAt: T0,
      uploadedAt: T0,
      sources: [],
      blocks,
    };
    objects.set(indexEntryKey(PREFIX, s.app, s.id, T0), Buffer.from(JSON.stringify(entry)));
  }
  return objects;
}

/** The lines of app-a's blocks overlapping [from, to] minutes, in block time order. */
function expectedLines(fromMinute: number, toMinute: number): string[] {
  return SEGMENTS.filter((s) => s.app === 'app-a')
    .flatMap((s) => s.blocks)
    .filter((b) => b.minute + 0.5 >= fromMinute && b.minute <= toMinute)
    .sort((a, b) => a.minute - b.minute)
    .flatMap((b) => b.lines);
}

async function read(store: StorageDriver, opts: Partial<LogsOptions>) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const err = new PassThrough();
  err.resume();
  const stats = await runLogs(
    { app: 'app-a', lag: '1d', prefetch: '3', quiet: true, ...opts },
    { store, prefix: PREFIX, out, err, now: T0 + 3_600_000 },
  );
  const text = Buffer.concat(chunks).toString('utf8');
  return { lines: text === '' ? [] : text.slice(0, -1).split('\n'), stats };
}

const iso = (minute: number) => new Date(T0 + minute * MIN).toISOString();

let server: OssTestServer;
let fsRoot: string;
let objects: Map<string, Buffer>;
const stores: [string, () => StorageDriver][] = [
  ['fs', () => new FsStorageDriver(fsRoot)],
  ['oss', () => new OssStorageDriver(server.config())],
];

beforeAll(async () => {
  server = await OssTestServer.start();
  fsRoot = mkdtempSync(join(tmpdir(), 'cli-read-'));
  objects = await bucketObjects();
  const fs = new FsStorageDriver(fsRoot);
  for (const [key, body] of objects) {
    server.putObject(key, body);
    await fs.putBuffer(key, body);
  }
});
afterAll(async () => {
  await server.close();
  rmSync(fsRoot, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
});

describe.each(stores)('logsplit logs on the %s driver', (_name, makeStore) => {
  it('streams every record of the app in block time order, across segments and codecs', async () => {
    const { lines, stats } = await read(makeStore(), {});
    expect(lines).toEqual(expectedLines(-Infinity, Infinity));
    expect(stats).toMatchObject({ indexEntries: 2, segments: 2, blocks: 8, records: 24 });
  });

  it('reads only the blocks overlapping the window (block-granular, inclusive)', async () => {
    // 2:00-4:10 overlaps blocks m2, m3 and m4; m1 ends at 1:30, m5 starts at 5:00.
    const { lines, stats } = await read(makeStore(), {
      since: iso(2),
      until: new Date(T0 + 4 * MIN + 10_000).toISOString(),
    });
    expect(lines).toEqual(expectedLines(2, 4));
    expect(stats.blocks).toBe(3);
    const selected = SEGMENTS.filter((s) => s.app === 'app-a').length;
    expect(stats.dataObjects).toBe(selected);
  });

  it('filters lines with --grep and counts what it scanned', async () => {
    const { lines, stats } = await read(makeStore(), { grep: 's2 m3 #1' });
    expect(lines).toEqual(['app-a s2 m3 #1 ✓']);
    expect(stats).toMatchObject({ records: 24, matched: 1 });
  });

  it('returns nothing for a window without blocks, reading no data', async () => {
    const { lines, stats } = await read(makeStore(), { since: iso(30), until: iso(40) });
    expect(lines).toEqual([]);
    expect(stats.dataRequests).toBe(0);
  });
});

describe('what the OSS store sees', () => {
  it("lists only the app's own index days and fetches only the app's objects and blocks", async () => {
    const { stats } = await read(new OssStorageDriver(server.config()), {
      since: iso(2),
      until: iso(4),
    });
    const lists = server.requests.filter((r) => r.op === 'ListObjectsV2');
    expect(lists.map((r) => r.prefix)).toEqual([
      'logs/_index/app-a/dt=2026-11-19/',
      'logs/_index/app-a/dt=2026-11-20/',
      'logs/_index/app-a/dt=2026-11-21/',
    ]);
    const gets = server.requests.filter((r) => r.op !== 'ListObjectsV2');
    expect(gets.every((r) => r.op === 'GetObject' && r.status < 300)).toBe(true);
    for (const r of gets) expect(r.key).toMatch(/^logs\/(_index\/)?app-a\//);

    // Data bytes fetched = exactly the selected blocks' bytes, far less than the bucket holds.
    const dataBytes = gets
      .filter((r) => !r.key.includes('/_index/'))
      .reduce((n, r) => n + (r.bytes ?? 0), 0);
    expect(dataBytes).toBe(stats.dataBytes);
    const bucketBytes = [...objects.values()].reduce((n, b) => n + b.length, 0);
    const appABytes = [...objects]
      .filter(([k]) => k.startsWith('logs/app-a/'))
      .reduce((n, [, b]) => n + b.length, 0);
    expect(dataBytes).toBeGreaterThan(0);
    expect(dataBytes).toBeLessThan(appABytes);
    expect(dataBytes).toBeLessThan(bucketBytes / 3);
  });

  it('coalesces adjacent blocks of one object into one ranged GET', async () => {
    // Segment s3 of app-ab: eight adjacent blocks; a window over all of them is one read.
    await runLogs(
      { app: 'app-ab', lag: '1d', prefetch: '2', quiet: true },
      {
        store: new OssStorageDriver(server.config()),
        prefix: PREFIX,
        out: new PassThrough().resume(),
        err: new PassThrough().resume(),
        now: T0,
      },
    );
    const dataGets = server.requests.filter(
      (r) => r.op === 'GetObject' && !r.key.includes('_index'),
    );
    expect(dataGets).toHaveLength(1);
  });
});

describe('a reader that does not trust the index blindly', () => {
  it('refuses an index entry that points outside the app, before fetching anything', async () => {
    const store = new FsStorageDriver(mkdtempSync(join(tmpdir(), 'cli-evil-')));
    const victim = [...objects.keys()].find((k) => k.startsWith('logs/app-b/'))!;
    await store.putBuffer(victim, objects.get(victim)!);
    await store.putBuffer(
      indexEntryKey(PREFIX, 'app-a', 'evil', T0),
      Buffer.from(
        JSON.stringify({
          app: 'app-a',
          key: victim,
          codec: 'zstd',
          bytes: 10,
          records: 1,
          minTime: T0,
          maxTime: T0,
          blocks: [{ offset: 0, length: 10, records: 1, minTime: T0, maxTime: T0 }],
        }),
      ),
    );
    await expect(read(store, {})).rejects.toThrow(/outside the app's prefix/);
  });

  it('fails loudly when a block decodes to a different record count than the index says', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cli-torn-'));
    const store = new FsStorageDriver(root);
    for (const [key, body] of objects) {
      if (!key.includes('app-a/')) continue;
      const text = body.toString('utf8');
      await store.putBuffer(
        key,
        key.includes('_index') ? Buffer.from(text.replace('"records":3', '"records":4')) : body,
      );
    }
    await expect(read(store, {})).rejects.toThrow(/decoded 3 records, the index says 4/);
    rmSync(root, { recursive: true, force: true });
  });
});

describe('logsplit apps', () => {
  it('lists every app with segments, records, bytes and time range from the index alone', async () => {
    const apps = await listApps(new OssStorageDriver(server.config()), PREFIX);
    expect(apps.map((a) => [a.app, a.segments, a.records])).toEqual([
      ['app-a', 2, 24],
      ['app-ab', 1, 24],
      ['app-b', 1, 9],
    ]);
    expect(apps[0]).toMatchObject({ minTime: T0, maxTime: T0 + 7 * MIN + 30_000 });
    expect(
      server.requests.every((r) => r.op === 'ListObjectsV2' || r.key.includes('/_index/')),
    ).toBe(true);
  });
});
