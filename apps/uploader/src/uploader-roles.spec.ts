import { Logger } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GzipCodec,
  loadConfig,
  LogsplitConfig,
  BlockInput,
  readSegment,
  sealSegment,
  SegmentMeta,
  SpoolLayout,
  ManifestEntry,
  SEGMENT_FILES,
  dataFileName,
  FsStorageDriver,
  ObjectInfo,
  PutOptions,
  StorageDriver,
  Metrics,
  StageEvents,
  buildIndexEntry,
  IndexEntry,
} from '@logsplit/common';
import { ArchiveConflictError } from './archive-conflict-error';
import { CommittedOffsets, partitionId } from './commit-gate';
import { CompressorCommits } from './compressor-commits';

import { CommitWaits } from './commit-waits';
import { SegmentUpload } from './segment-upload';
import { SpoolSweeper } from './spool-sweeper';
import { UploadPass } from './upload-pass';
import { UploaderSpool } from './uploader-spool';

const APP = 'app1';
const T0 = Date.UTC(2024, 4, 6, 7, 8, 9);
const MAX_AGE_MS = 60_000;

/** Stands in for the Redis LeaseSemaphore: records what was asked, can report a slot busy. */
class FakeSemaphore {
  readonly busy = new Set<string>();
  readonly calls: { resource: string; slot: number }[] = [];
  released = 0;
  held = 0;
  lost = false;

  async tryAcquireSlot(resource: string, slot: number, _ttlMs: number) {
    this.calls.push({ resource, slot });
    if (this.busy.has(`${resource}#${slot}`) || this.busy.has('*')) return undefined;
    this.held++;
    return {
      assertHeld: async () => {
        if (this.lost) throw new Error('lease lost');
      },
      release: async () => {
        this.held--;
        this.released++;
        return true;
      },
    };
  }
}

/** Stands in for the broker: the compressor group's committed offsets, and how often asked. */
class FakeCommits extends CompressorCommits {
  readonly committed = new Map<string, number>();
  fetches: string[][] = [];

  async fetch(topics: string[]): Promise<CommittedOffsets> {
    this.fetches.push(topics);
    return new Map(this.committed);
  }

  commit(topic: string, partition: number, next: number) {
    this.committed.set(partitionId(topic, partition), next);
  }
}

let tmp: string;
let spool: string;
let bucket: string;
let config: LogsplitConfig;
let layout: SpoolLayout;
let store: FsStorageDriver;
let semaphore: FakeSemaphore;
let commits: FakeCommits;
let service: Uploader;
const codec = new GzipCodec();

beforeAll(() => {
  Logger.overrideLogger(false);
});
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'upload-service-'));
  spool = join(tmp, 'spool');
  bucket = join(tmp, 'bucket');
  config = loadConfig('uploader', {
    LOGSPLIT_SPOOL_DIR: spool,
    LOGSPLIT_STORE_FS_ROOT: bucket,
    LOGSPLIT_STORE_PREFIX: 'archive/logs',
    LOGSPLIT_INSTANCE_ID: 'uploader-test',
    LOGSPLIT_SEGMENT_MAX_AGE_MS: String(MAX_AGE_MS),
  });
  layout = new SpoolLayout(spool);
  store = new FsStorageDriver(bucket);
  semaphore = new FakeSemaphore();
  commits = new FakeCommits();
  service = newService(store);
});

const quiet = { log: () => {}, warn: () => {}, error: () => {} };

/** The uploader's roles, wired as UploaderModule wires them. */
interface Uploader {
  apps: UploaderSpool['apps'];
  sealedSegmentIds: UploaderSpool['sealedSegmentIds'];
  upload: SegmentUpload['upload'];
  sealDue: SpoolSweeper['sealDue'];
  pass: UploadPass['pass'];
}

function newService(
  s: StorageDriver,
  c: LogsplitConfig = config,
  metrics = new Metrics('uploader', 0),
): Uploader {
  const events = new StageEvents(metrics, quiet);
  const spool = new UploaderSpool(c.spoolDir);
  const waits = new CommitWaits(events, c.segments.writerGroup);
  const opts = { prefix: c.store.prefix, lockTtlMs: c.segments.lockTtlMs };
  const upload = new SegmentUpload(opts, s, semaphore, commits, spool, waits, events);
  const sweeper = new SpoolSweeper(c.segments, semaphore, spool, events);
  const pass = new UploadPass(c.uploader.concurrency, spool, sweeper, upload, waits, events);
  return {
    apps: () => spool.apps(),
    sealedSegmentIds: (app) => spool.sealedSegmentIds(app),
    upload: (app, id, snapshot) => upload.upload(app, id, snapshot),
    sealDue: (app, now) => sweeper.sealDue(app, now),
    pass: () => pass.pass(),
  };
}
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Appends one block to the open segment of (app, slot) the way the compressor's writer lays it
 * out (meta.json, data file, manifest line); an open segment past the age is sealed first.
 */
async function appendBlock(
  app: string,
  slot: number,
  block: Buffer,
  info: Omit<ManifestEntry, 'offset' | 'length' | 'appendedAt'>,
  now: number,
): Promise<string> {
  const dir = layout.openDir(app, slot);
  let segment = await readSegment(dir);
  if (segment && now - segment.meta.createdAt >= MAX_AGE_MS) {
    await sealSegment(layout, segment);
    segment = undefined;
  }
  let meta = segment?.meta;
  if (!meta) {
    const stamp = new Date(now)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const segmentId = `${stamp}-s${slot}-${randomBytes(4).toString('hex')}`;
    const createdBy = 'compressor-test';
    meta = {
      segmentId,
      app,
      slot,
      codec: 'gzip',
      extension: codec.extension,
      createdAt: now,
      createdBy,
    };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, SEGMENT_FILES.meta), JSON.stringify(meta));
  }
  const offset = segment?.committedBytes ?? 0;
  const entry: ManifestEntry = { offset, length: block.length, appendedAt: now, ...info };
  appendFileSync(join(dir, dataFileName(meta.extension)), block);
  appendFileSync(join(dir, SEGMENT_FILES.manifest), JSON.stringify(entry) + '\n');
  return meta.segmentId;
}

let nextOffset = 0;
/** Appends each text as one block to the open segment of (app, slot); returns its id. */
async function openSegment(
  texts: string[],
  app = APP,
  slot = 0,
  now = T0,
  inputs: (BlockInput | undefined)[] = [],
): Promise<string> {
  let id = '';
  for (const [i, t] of texts.entries()) {
    const records = t.split('\n').length - 1;
    const first = nextOffset;
    nextOffset += records;
    id = await appendBlock(
      app,
      slot,
      await codec.compress(Buffer.from(t)),
      {
        records,
        rawBytes: Buffer.byteLength(t),
        minTime: now + first,
        maxTime: now + first + 10,
        sources: [
          {
            topic: 'logs.raw',
            partition: 2,
            firstOffset: String(first),
            lastOffset: String(first + records - 1),
          },
        ],
        ...(inputs[i] && { input: inputs[i] }),
      },
      now,
    );
  }
  return id;
}

async function sealedSegment(
  texts: string[],
  app = APP,
  slot = 0,
  inputs: (BlockInput | undefined)[] = [],
): Promise<string> {
  const id = await openSegment(texts, app, slot, T0, inputs);
  await sealSegment(layout, (await readSegment(layout.openDir(app, slot)))!);
  return id;
}

const objectKey = (id: string, app = APP) => `archive/logs/${app}/dt=2024-05-06/hh=07/${id}.log.gz`;
const indexKey = (id: string, app = APP) =>
  `archive/logs/_index/${app}/dt=2024-05-06/hh=07/${id}.json`;

async function storedKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of store.list('')) keys.push(k);
  return keys;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('SegmentUpload.upload', () => {
  it('uploads the data file, writes the index entry, then deletes the local segment', async () => {
    const texts = ['a\nb\n', 'c\n', 'd\ne\nf\n'];
    const id = await sealedSegment(texts);
    const sealedDir = layout.sealedDir(APP, id);
    const local = readFileSync(join(sealedDir, 'data.log.gz'));

    await expect(service.upload(APP, id)).resolves.toBe('uploaded');

    expect((await storedKeys()).sort()).toEqual([indexKey(id), objectKey(id)].sort());
    const objectPath = join(bucket, ...objectKey(id).split('/'));
    expect(readFileSync(objectPath)).toEqual(local);
    expect(execFileSync('gzip', ['-dc', objectPath], { encoding: 'utf8' })).toBe(texts.join(''));

    const entry = JSON.parse((await store.getBuffer(indexKey(id))).toString()) as IndexEntry;
    expect(entry).toMatchObject({
      version: 1,
      app: APP,
      segmentId: id,
      key: objectKey(id),
      codec: 'gzip',
      bytes: local.length,
      records: 6,
      rawBytes: Buffer.byteLength(texts.join('')),
      md5: md5(local),
      createdAt: T0,
      sources: [{ topic: 'logs.raw', partition: 2 }],
    });
    expect(entry.blocks).toHaveLength(3);
    expect(entry.sources[0].lastOffset).toBe(String(BigInt(entry.sources[0].firstOffset) + 5n));
    expect(await store.head(objectKey(id))).toEqual({
      key: objectKey(id),
      size: local.length,
      md5: md5(local),
    });

    expect(existsSync(sealedDir)).toBe(false);
    expect(semaphore.calls).toEqual([{ resource: `upload:app:${APP}:${id}`, slot: 0 }]);
    expect(semaphore.held).toBe(0);
  });

  it('says gone when the segment was already uploaded', async () => {
    const id = await sealedSegment(['x\n']);
    expect(await service.upload(APP, id)).toBe('uploaded');
    const keys = await storedKeys();
    expect(await service.upload(APP, id)).toBe('gone');
    expect(await storedKeys()).toEqual(keys);
    expect(semaphore.held).toBe(0);
  });

  it('finishes a segment whose object is already stored (a crash before the delete)', async () => {
    const id = await sealedSegment(['x\n', 'y\n']);
    const data = readFileSync(join(layout.sealedDir(APP, id), 'data.log.gz'));
    await store.putBuffer(objectKey(id), data);
    const puts: string[] = [];
    const watching: StorageDriver = Object.assign(Object.create(store) as FsStorageDriver, {
      putFile: async (key: string, path: string, opts?: { md5?: string }) => {
        puts.push(key);
        return store.putFile(key, path, opts);
      },
    });
    const s = newService(watching);
    expect(await s.upload(APP, id)).toBe('uploaded');
    expect(puts).toEqual([]); // same bytes already there: not sent again
    expect(existsSync(layout.sealedDir(APP, id))).toBe(false);
    expect(await storedKeys()).toContain(indexKey(id));
  });

  it('never overwrites a stored object that differs from the local segment', async () => {
    const id = await sealedSegment(['right\n']);
    await store.putBuffer(objectKey(id), Buffer.from('wrong'));
    const err: unknown = await service.upload(APP, id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchiveConflictError);
    expect((err as Error).message).toContain(`refusing to overwrite ${objectKey(id)}`);
    expect((await store.getBuffer(objectKey(id))).toString()).toBe('wrong');
    expect(existsSync(layout.sealedDir(APP, id))).toBe(true);
    expect(await storedKeys()).not.toContain(indexKey(id));
  });

  it('takes an object that an earlier attempt stored behind its back as done (ack lost)', async () => {
    const id = await sealedSegment(['x\n']);
    let heads = 0;
    // The first head sees nothing; the put then finds the object an earlier attempt left.
    const racing: StorageDriver = Object.assign(Object.create(store) as FsStorageDriver, {
      head: async (key: string) =>
        key === objectKey(id) && heads++ === 0 ? undefined : store.head(key),
      putFile: async (key: string, path: string, opts?: PutOptions) => {
        await store.putFile(key, path, { ...opts, ifAbsent: false });
        return store.putFile(key, path, opts);
      },
    });
    expect(await newService(racing).upload(APP, id)).toBe('uploaded');
    expect(await storedKeys()).toEqual([indexKey(id), objectKey(id)].sort());
    expect(existsSync(layout.sealedDir(APP, id))).toBe(false);
  });

  it('keeps the first index entry when a retry finds it (crash after the index)', async () => {
    const id = await sealedSegment(['x\n', 'y\n']);
    const segment = (await readSegment(layout.sealedDir(APP, id)))!;
    const data = readFileSync(segment.dataPath);
    await store.putBuffer(objectKey(id), data);
    const first = buildIndexEntry(segment, objectKey(id), md5(data), 1);
    await store.putBuffer(indexKey(id), Buffer.from(JSON.stringify(first)));

    expect(await service.upload(APP, id)).toBe('uploaded');
    expect(JSON.parse((await store.getBuffer(indexKey(id))).toString())).toEqual(first);
    expect(existsSync(layout.sealedDir(APP, id))).toBe(false);
  });

  it('refuses to finish when a different index entry is already stored', async () => {
    const id = await sealedSegment(['x\n']);
    await store.putBuffer(indexKey(id), Buffer.from(JSON.stringify({ records: 99 })));
    await expect(service.upload(APP, id)).rejects.toThrow(
      new RegExp(`refusing to overwrite ${indexKey(id)}`),
    );
    expect(JSON.parse((await store.getBuffer(indexKey(id))).toString())).toEqual({ records: 99 });
    expect(existsSync(layout.sealedDir(APP, id))).toBe(true);
  });

  it('writes the object and the index entry create-if-absent', async () => {
    const id = await sealedSegment(['x\n']);
    const seen: [string, boolean | undefined][] = [];
    const watching: StorageDriver = Object.assign(Object.create(store) as FsStorageDriver, {
      putFile: (key: string, path: string, opts?: PutOptions) => {
        seen.push([key, opts?.ifAbsent]);
        return store.putFile(key, path, opts);
      },
      putBuffer: (key: string, body: Buffer, opts?: PutOptions) => {
        seen.push([key, opts?.ifAbsent]);
        return store.putBuffer(key, body, opts);
      },
    });
    await newService(watching).upload(APP, id);
    expect(seen).toEqual([
      [objectKey(id), true],
      [indexKey(id), true],
    ]);
  });

  it('says busy and touches nothing when another uploader holds the segment', async () => {
    const id = await sealedSegment(['x\n']);
    semaphore.busy.add(`upload:app:${APP}:${id}#0`);
    expect(await service.upload(APP, id)).toBe('busy');
    expect(await storedKeys()).toEqual([]);
    expect(existsSync(layout.sealedDir(APP, id))).toBe(true);
  });

  it('removes an empty sealed segment without uploading it', async () => {
    const id = '20240506T070809Z-s0-0badf00d';
    const dir = layout.sealedDir(APP, id);
    mkdirSync(dir, { recursive: true });
    const meta: SegmentMeta = {
      segmentId: id,
      app: APP,
      slot: 0,
      codec: 'gzip',
      extension: '.log.gz',
      createdAt: T0,
      createdBy: 'x',
    };
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
    expect(await service.upload(APP, id)).toBe('empty');
    expect(existsSync(dir)).toBe(false);
    expect(await storedKeys()).toEqual([]);
    expect(semaphore.held).toBe(0);
  });

  it('keeps the local segment when the store reports a different md5 after the put', async () => {
    const id = await sealedSegment(['x\n']);
    const lying: StorageDriver = Object.assign(Object.create(store) as FsStorageDriver, {
      head: async (key: string): Promise<ObjectInfo | undefined> => {
        const info = await store.head(key);
        return info && { ...info, md5: '0'.repeat(32) };
      },
    });
    const s = newService(lying);
    await expect(s.upload(APP, id)).rejects.toThrow(/verification/);
    expect(existsSync(join(layout.sealedDir(APP, id), 'data.log.gz'))).toBe(true);
    expect(await storedKeys()).not.toContain(indexKey(id));
    expect(semaphore.held).toBe(0);
  });

  it('keeps the local segment when the store reports a different size after the put', async () => {
    const id = await sealedSegment(['x\n']);
    const lying: StorageDriver = Object.assign(Object.create(store) as FsStorageDriver, {
      head: async (key: string): Promise<ObjectInfo | undefined> => {
        const info = await store.head(key);
        return info && { ...info, size: info.size - 1 };
      },
    });
    const s = newService(lying);
    await expect(s.upload(APP, id)).rejects.toThrow(/verification/);
    expect(existsSync(layout.sealedDir(APP, id))).toBe(true);
  });

  it('keeps the local segment when its lease is lost before the delete', async () => {
    const id = await sealedSegment(['x\n']);
    semaphore.lost = true;
    await expect(service.upload(APP, id)).rejects.toThrow('lease lost');
    expect(existsSync(layout.sealedDir(APP, id))).toBe(true);
    expect(semaphore.held).toBe(0);
  });

  it.each([
    ['../x', '20240506T070809Z-s0-00000000'],
    ['a/b', '20240506T070809Z-s0-00000000'],
    ['', '20240506T070809Z-s0-00000000'],
    [APP, '../../etc'],
    [APP, 'a.b'],
    [APP, ''],
  ])('refuses app %j segment %j before taking any lease', async (app, id) => {
    await expect(service.upload(app, id)).rejects.toThrow(/refusing/);
    expect(semaphore.calls).toEqual([]);
  });
});

describe('SpoolSweeper.sealDue', () => {
  it('seals an open segment that is old enough, not a fresh one', async () => {
    const id = await openSegment(['x\n']);
    expect(await service.sealDue(APP, T0 + MAX_AGE_MS - 1)).toBe(0);
    expect(existsSync(layout.openDir(APP, 0))).toBe(true);
    expect(await service.sealedSegmentIds(APP)).toEqual([]);

    expect(await service.sealDue(APP, T0 + MAX_AGE_MS)).toBe(1);
    expect(existsSync(layout.openDir(APP, 0))).toBe(false);
    expect(await service.sealedSegmentIds(APP)).toEqual([id]);
    expect(semaphore.calls).toEqual([{ resource: `app:${APP}`, slot: 0 }]);
    expect(semaphore.held).toBe(0);
  });

  it('seals each due slot, removes old slots without a confirmed block, leaves busy slots alone', async () => {
    const a = await openSegment(['a\n'], APP, 0);
    const b = await openSegment(['b\n'], APP, 3);
    await openSegment(['c\n'], APP, 5);
    mkdirSync(layout.openDir(APP, 7), { recursive: true }); // begun, no meta.json yet
    semaphore.busy.add(`app:${APP}#5`);
    const emptyDir = layout.openDir(APP, 8);
    mkdirSync(emptyDir, { recursive: true });
    writeFileSync(
      join(emptyDir, 'meta.json'),
      JSON.stringify({
        segmentId: 'e',
        app: APP,
        slot: 8,
        codec: 'gzip',
        extension: '.log.gz',
        createdAt: T0,
        createdBy: 'x',
      }),
    );
    mkdirSync(join(layout.openRoot(APP), 'not-a-slot'), { recursive: true });

    // A writer died before its first manifest line: a torn block, nothing confirmed.
    writeFileSync(join(emptyDir, 'data.log.gz'), 'torn');

    expect(await service.sealDue(APP, T0 + MAX_AGE_MS - 1)).toBe(0);
    expect(existsSync(emptyDir)).toBe(true);

    expect(await service.sealDue(APP, T0 + 10 * MAX_AGE_MS)).toBe(2);
    expect((await service.sealedSegmentIds(APP)).sort()).toEqual([a, b].sort());
    expect(existsSync(layout.openDir(APP, 5))).toBe(true);
    expect(existsSync(emptyDir)).toBe(false);
    // Begun just now (its directory's mtime), so not yet abandoned.
    expect(existsSync(layout.openDir(APP, 7))).toBe(true);
    expect(semaphore.calls.map((c) => c.slot).sort((x, y) => x - y)).toEqual([0, 3, 5, 8]);
    expect(semaphore.held).toBe(0);
  });

  it('removes a slot directory without meta.json once it is older than the segment age', async () => {
    const dir = layout.openDir(APP, 2);
    mkdirSync(dir, { recursive: true });
    const mtime = statSync(dir).mtimeMs;
    expect(await service.sealDue(APP, mtime + MAX_AGE_MS - 1)).toBe(0);
    expect(existsSync(dir)).toBe(true);
    expect(await service.sealDue(APP, mtime + MAX_AGE_MS)).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  it('seals a segment that reached the size limit whatever its age', async () => {
    const big = newService(store, {
      ...config,
      segments: { ...config.segments, maxBytes: 10 },
    });
    await openSegment(['0123456789abcdef\n']);
    expect(await big.sealDue(APP, T0)).toBe(1);
  });

  it('does nothing for an app without open segments', async () => {
    expect(await service.sealDue('nothing-here', T0)).toBe(0);
  });
});

describe('UploadPass.pass', () => {
  it('seals due segments and uploads every sealed one of every app', async () => {
    const a = await sealedSegment(['a\n'], 'app-a', 0);
    await openSegment(['b\n'], 'app-b', 1);
    mkdirSync(join(spool, '_not-an-app'), { recursive: true });
    expect(await service.apps()).toEqual(['app-a', 'app-b']);

    const totals = await service.pass();
    expect(totals).toEqual({ sealed: 1, uploaded: 2, waiting: 0, failed: 0 });
    const keys = await storedKeys();
    expect(keys).toContain(objectKey(a, 'app-a'));
    expect(keys.filter((k) => k.startsWith('archive/logs/app-b/'))).toHaveLength(1);
    expect(readdirSync(join(spool, 'app-a', 'sealed'))).toEqual([]);
  });

  it('does not let one app with a damaged segment stop the other apps', async () => {
    // app-a sorts first; its open segment's manifest claims bytes its data file lacks.
    await openSegment(['a\n'], 'app-a', 0);
    writeFileSync(join(layout.openDir('app-a', 0), 'data.log.gz'), '');
    const b = await sealedSegment(['b\n'], 'app-b', 0);

    const totals = await service.pass();
    expect(await storedKeys()).toContain(objectKey(b, 'app-b'));
    expect(totals.uploaded).toBe(1);
    expect(totals.failed).toBe(1);
  });

  it('looks up the committed offsets once per pass, and holds back uncommitted segments', async () => {
    const input = (partition: number, ...offsets: number[]): BlockInput => ({
      topic: 'by-app',
      partition,
      offsets,
    });
    const done = await sealedSegment(['a\n'], 'app-a', 0, [input(0, 3, 4)]);
    const held = await sealedSegment(['b\n'], 'app-b', 0, [input(1, 7)]);
    const old = await sealedSegment(['c\n'], 'app-c', 0); // no input recorded
    commits.commit('by-app', 0, 5);
    commits.commit('by-app', 1, 7);

    expect(await service.pass()).toEqual({ sealed: 0, uploaded: 2, waiting: 1, failed: 0 });
    expect(commits.fetches).toEqual([['by-app']]);
    const keys = await storedKeys();
    expect(keys).toContain(objectKey(done, 'app-a'));
    expect(keys).toContain(objectKey(old, 'app-c'));
    expect(keys.some((k) => k.includes(held))).toBe(false);
    expect(existsSync(layout.sealedDir('app-b', held))).toBe(true);

    commits.commit('by-app', 1, 8);
    expect(await service.pass()).toMatchObject({ uploaded: 1, waiting: 0 });
    expect(await storedKeys()).toContain(objectKey(held, 'app-b'));
  });

  it('seals and uploads apps side by side, counting every one, and sets the spool gauges', async () => {
    const apps = ['app-a', 'app-b', 'app-c', 'app-d', 'app-e', 'app-f'];
    for (const app of apps) await openSegment(['x\n', 'y\n'], app, 0); // due (made at T0)
    await openSegment(['young\n'], 'app-g', 1, Date.now()); // not due
    // Waiting at the pass's start, once sealed: every data file (the sealed ones still to go).
    const spoolBytes = [...apps.map((app) => layout.openDir(app, 0)), layout.openDir('app-g', 1)]
      .map((dir) => statSync(join(dir, 'data.log.gz')).size)
      .reduce((a, b) => a + b, 0);
    let running = 0;
    let most = 0;
    const slow: StorageDriver = Object.assign(Object.create(store) as FsStorageDriver, {
      putFile: async (key: string, path: string, opts?: PutOptions) => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return store.putFile(key, path, opts);
      },
    });
    const metrics = new Metrics('uploader', 0);
    const s = newService(slow, config, metrics);

    expect(await s.pass()).toEqual({ sealed: 6, uploaded: 6, waiting: 0, failed: 0 });
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(config.uploader.concurrency);
    expect((await metrics.openSegments.get()).values[0].value).toBe(1);
    expect((await metrics.spoolPendingBytes.get()).values[0].value).toBe(spoolBytes);
    expect(existsSync(layout.openDir('app-g', 1))).toBe(true);
  });

  it('deletes what a crash left in the trash, and leaves none itself', async () => {
    const leftover = join(spool, '_trash', 'app1.x.00000000');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, 'data.log.gz'), 'x');
    await sealedSegment(['a\n']);
    await service.pass();
    expect(readdirSync(join(spool, '_trash'))).toEqual([]);
  });
});

describe('SegmentUpload: the commit gate', () => {
  const input = (offsets: number[], partition = 3): BlockInput => ({
    topic: 'logs.by-app',
    partition,
    offsets,
  });

  it('uploads nothing while a block holds an offset the compressor has not committed', async () => {
    const id = await sealedSegment(['a\n', 'b\n'], APP, 0, [input([10, 11]), input([12])]);
    commits.commit('logs.by-app', 3, 12); // 12 itself is not committed: the next to consume
    expect(await service.upload(APP, id)).toBe('uncommitted');
    expect(await storedKeys()).toEqual([]);
    expect(existsSync(layout.sealedDir(APP, id))).toBe(true);
    expect(semaphore.held).toBe(0);

    commits.commit('logs.by-app', 3, 13);
    expect(await service.upload(APP, id)).toBe('uploaded');
  });

  it('holds a segment of a partition the group never committed', async () => {
    const id = await sealedSegment(['a\n'], APP, 0, [input([0])]);
    commits.commit('logs.by-app', 4, 100); // another partition
    expect(await service.upload(APP, id)).toBe('uncommitted');
  });

  it('does not ask the broker for segments whose blocks carry no input', async () => {
    const id = await sealedSegment(['a\n']);
    expect(await service.upload(APP, id)).toBe('uploaded');
    expect(commits.fetches).toEqual([]);
  });

  it('fails the upload, keeping the segment, when the offsets cannot be read', async () => {
    const id = await sealedSegment(['a\n'], APP, 0, [input([0])]);
    commits.fetch = () => Promise.reject(new Error('broker down'));
    await expect(service.upload(APP, id)).rejects.toThrow('broker down');
    expect(existsSync(layout.sealedDir(APP, id))).toBe(true);
  });
});
