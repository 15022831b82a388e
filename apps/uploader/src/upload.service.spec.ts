import { Logger } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GzipCodec } from '@logsplit/common/codec';
import type { LeaseSemaphore } from '@logsplit/common/redis';
import { loadConfig, LogsplitConfig } from '@logsplit/common/config';
import { readSegment, sealSegment, SegmentMeta, SpoolLayout } from '@logsplit/common/spool';
import { FsStorageDriver, ObjectInfo, StorageDriver } from '@logsplit/common/storage';
import { SegmentWriter } from '../../compressor/src/segment-writer';
import { IndexEntry } from './index-entry';
import { UploadService } from './upload.service';

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

let tmp: string;
let spool: string;
let bucket: string;
let config: LogsplitConfig;
let layout: SpoolLayout;
let store: FsStorageDriver;
let semaphore: FakeSemaphore;
let service: UploadService;
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
  service = new UploadService(config, store, semaphore as unknown as LeaseSemaphore);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function writer(now = T0): SegmentWriter {
  return new SegmentWriter(
    layout,
    codec,
    { maxBytes: 1024 * 1024, maxAgeMs: MAX_AGE_MS, fsync: false },
    'compressor-test',
    () => now,
  );
}

let nextOffset = 0;
/** Appends each text as one block to the open segment of (app, slot); returns its id. */
async function openSegment(texts: string[], app = APP, slot = 0, now = T0): Promise<string> {
  const w = writer(now);
  let id = '';
  for (const t of texts) {
    const records = t.split('\n').length - 1;
    const first = nextOffset;
    nextOffset += records;
    const out = await w.append(
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
      },
      async () => {},
    );
    id = out.segmentId;
  }
  return id;
}

async function sealedSegment(texts: string[], app = APP, slot = 0): Promise<string> {
  const id = await openSegment(texts, app, slot);
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

describe('UploadService.upload', () => {
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
    const s = new UploadService(config, watching, semaphore as unknown as LeaseSemaphore);
    expect(await s.upload(APP, id)).toBe('uploaded');
    expect(puts).toEqual([]); // same bytes already there: not sent again
    expect(existsSync(layout.sealedDir(APP, id))).toBe(false);
    expect(await storedKeys()).toContain(indexKey(id));
  });

  it('replaces a stored object that differs from the local segment', async () => {
    const id = await sealedSegment(['right\n']);
    await store.putBuffer(objectKey(id), Buffer.from('wrong'));
    expect(await service.upload(APP, id)).toBe('uploaded');
    const stored = await store.getBuffer(objectKey(id));
    expect(execFileSync('gzip', ['-dc'], { input: stored, encoding: 'utf8' })).toBe('right\n');
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
    const s = new UploadService(config, lying, semaphore as unknown as LeaseSemaphore);
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
    const s = new UploadService(config, lying, semaphore as unknown as LeaseSemaphore);
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

describe('UploadService.sealDue', () => {
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

  it('seals each due slot, and leaves empty segments and busy slots alone', async () => {
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

    expect(await service.sealDue(APP, T0 + 10 * MAX_AGE_MS)).toBe(2);
    expect((await service.sealedSegmentIds(APP)).sort()).toEqual([a, b].sort());
    expect(existsSync(layout.openDir(APP, 5))).toBe(true);
    expect(existsSync(emptyDir)).toBe(true);
    expect(semaphore.calls.map((c) => c.slot).sort()).toEqual([0, 3, 5]);
    expect(semaphore.held).toBe(0);
  });

  it('seals a segment that reached the size limit whatever its age', async () => {
    const big = new UploadService(
      { ...config, compressor: { ...config.compressor, segmentMaxBytes: 10 } },
      store,
      semaphore as unknown as LeaseSemaphore,
    );
    await openSegment(['0123456789abcdef\n']);
    expect(await big.sealDue(APP, T0)).toBe(1);
  });

  it('does nothing for an app without open segments', async () => {
    expect(await service.sealDue('nothing-here', T0)).toBe(0);
  });
});

describe('UploadService.pass', () => {
  it('seals due segments and uploads every sealed one of every app', async () => {
    const a = await sealedSegment(['a\n'], 'app-a', 0);
    await openSegment(['b\n'], 'app-b', 1);
    mkdirSync(join(spool, '_not-an-app'), { recursive: true });
    expect(await service.apps()).toEqual(['app-a', 'app-b']);

    const totals = await service.pass();
    expect(totals).toEqual({ sealed: 1, uploaded: 2, failed: 0 });
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
});
