import {
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
import { cutTornTails, sealSegment } from './seal';
import { listDirs, readSegment } from './segment-files';
import { ManifestEntry, SegmentMeta } from './segment-meta';
import { SpoolLayout } from './spool-layout';

let root: string;
let layout: SpoolLayout;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'segment-files-'));
  layout = new SpoolLayout(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const APP = 'app1';
const SEGMENT_ID = '20240506T070809Z-s2-0123abcd';

function meta(over: Partial<SegmentMeta> = {}): SegmentMeta {
  return {
    segmentId: SEGMENT_ID,
    app: APP,
    slot: 2,
    codec: 'gzip',
    extension: '.log.gz',
    createdAt: Date.UTC(2024, 4, 6, 7, 8, 9),
    createdBy: 'test',
    ...over,
  };
}

function entry(offset: number, length: number, n = 1): ManifestEntry {
  return {
    offset,
    length,
    appendedAt: 1_700_000_000_000,
    records: n,
    rawBytes: length * 2,
    minTime: 1000 + offset,
    maxTime: 2000 + offset,
    sources: [
      {
        topic: 'logs.raw',
        partition: 0,
        firstOffset: String(offset),
        lastOffset: String(offset + n - 1),
      },
    ],
  };
}

const line = (e: ManifestEntry) => JSON.stringify(e) + '\n';

/** Writes a segment directory by hand: any of its files may be left out or made inconsistent. */
function writeSegment(
  dir: string,
  files: { meta?: SegmentMeta; manifest?: string; data?: Buffer },
): string {
  mkdirSync(dir, { recursive: true });
  if (files.meta) writeFileSync(join(dir, 'meta.json'), JSON.stringify(files.meta));
  if (files.manifest !== undefined) writeFileSync(join(dir, 'manifest.jsonl'), files.manifest);
  if (files.data) writeFileSync(join(dir, 'data.log.gz'), files.data);
  return dir;
}

const bytes = (n: number, fill = 'x') => Buffer.alloc(n, fill);

describe('readSegment', () => {
  it('returns undefined for a directory without meta.json, or no directory at all', async () => {
    const dir = writeSegment(layout.openDir(APP, 0), {
      manifest: line(entry(0, 10)),
      data: bytes(10),
    });
    expect(await readSegment(dir)).toBeUndefined();
    expect(await readSegment(join(root, 'missing'))).toBeUndefined();
  });

  it('reads a segment that has just been created (meta only)', async () => {
    const dir = writeSegment(layout.openDir(APP, 2), { meta: meta() });
    expect(await readSegment(dir)).toEqual({
      dir,
      meta: meta(),
      entries: [],
      dataPath: join(dir, 'data.log.gz'),
      committedBytes: 0,
      dataBytes: 0,
      manifestValidBytes: 0,
      manifestBytes: 0,
    });
  });

  it('reads a consistent segment', async () => {
    const entries = [entry(0, 10), entry(10, 5, 3), entry(15, 7)];
    const manifest = entries.map(line).join('');
    const dir = writeSegment(layout.openDir(APP, 2), { meta: meta(), manifest, data: bytes(22) });
    const s = await readSegment(dir);
    expect(s).toMatchObject({
      entries,
      committedBytes: 22,
      dataBytes: 22,
      manifestValidBytes: Buffer.byteLength(manifest),
      manifestBytes: Buffer.byteLength(manifest),
    });
  });

  it('ignores a torn last manifest line (no trailing newline)', async () => {
    const good = line(entry(0, 10));
    const torn = line(entry(10, 5)).slice(0, 20);
    const dir = writeSegment(layout.openDir(APP, 2), {
      meta: meta(),
      manifest: good + torn,
      data: bytes(15),
    });
    const s = (await readSegment(dir))!;
    expect(s.entries).toEqual([entry(0, 10)]);
    expect(s.manifestValidBytes).toBe(Buffer.byteLength(good));
    expect(s.manifestBytes).toBe(Buffer.byteLength(good + torn));
    expect(s.manifestValidBytes).toBeLessThan(s.manifestBytes);
    // The block the torn line described is not committed: it is a torn tail of the data.
    expect(s.committedBytes).toBe(10);
    expect(s.dataBytes).toBe(15);
  });

  it('treats a manifest that is one torn line as empty', async () => {
    const torn = line(entry(0, 10)).slice(0, -1);
    const dir = writeSegment(layout.openDir(APP, 2), {
      meta: meta(),
      manifest: torn,
      data: bytes(10),
    });
    const s = (await readSegment(dir))!;
    expect(s.entries).toEqual([]);
    expect(s).toMatchObject({ committedBytes: 0, dataBytes: 10, manifestValidBytes: 0 });
    expect(s.manifestBytes).toBe(Buffer.byteLength(torn));
  });

  it('shows data past the last manifest entry as a torn tail', async () => {
    const dir = writeSegment(layout.openDir(APP, 2), {
      meta: meta(),
      manifest: line(entry(0, 10)),
      data: bytes(13),
    });
    const s = (await readSegment(dir))!;
    expect(s.committedBytes).toBe(10);
    expect(s.dataBytes).toBe(13);
    expect(s.dataBytes).toBeGreaterThan(s.committedBytes);
  });

  it('throws "damaged" when the data is shorter than the manifest says', async () => {
    const dir = writeSegment(layout.openDir(APP, 2), {
      meta: meta(),
      manifest: line(entry(0, 10)) + line(entry(10, 10)),
      data: bytes(19),
    });
    await expect(readSegment(dir)).rejects.toThrow(/damaged.*20 bytes.*19/);
  });

  it('throws "damaged" when the manifest has entries but the data file is missing', async () => {
    const dir = writeSegment(layout.openDir(APP, 2), { meta: meta(), manifest: line(entry(0, 4)) });
    await expect(readSegment(dir)).rejects.toThrow(/damaged/);
  });

  it.each([
    ['a gap', [entry(0, 10), entry(11, 5)]],
    ['an overlap', [entry(0, 10), entry(9, 5)]],
    ['a first entry not at 0', [entry(3, 10)]],
  ])('throws when the manifest offsets have %s', async (_what, entries) => {
    const dir = writeSegment(layout.openDir(APP, 2), {
      meta: meta(),
      manifest: entries.map(line).join(''),
      data: bytes(100),
    });
    await expect(readSegment(dir)).rejects.toThrow(/manifest .* is damaged at offset/);
  });

  it('uses the data file named by the extension in meta.json', async () => {
    const dir = writeSegment(layout.openDir(APP, 2), {
      meta: meta({ codec: 'zstd', extension: '.log.zst' }),
      manifest: line(entry(0, 4)),
    });
    writeFileSync(join(dir, 'data.log.zst'), bytes(4));
    const s = (await readSegment(dir))!;
    expect(s.dataPath).toBe(join(dir, 'data.log.zst'));
    expect(s.committedBytes).toBe(4);
  });
});

describe('listDirs', () => {
  it('lists subdirectories only, sorted, and nothing for a missing directory', async () => {
    mkdirSync(join(root, 'b'));
    mkdirSync(join(root, 'a'));
    writeFileSync(join(root, 'c'), 'file');
    expect(await listDirs(root)).toEqual(['a', 'b']);
    expect(await listDirs(join(root, 'nope'))).toEqual([]);
  });
});

describe('cutTornTails', () => {
  it('truncates the data file and the manifest to their committed lengths', async () => {
    const good = line(entry(0, 10));
    const dir = writeSegment(layout.openDir(APP, 2), {
      meta: meta(),
      manifest: good + '{"offset":10,"len',
      data: Buffer.concat([bytes(10, 'a'), bytes(7, 'z')]),
    });
    await cutTornTails((await readSegment(dir))!);
    expect(readFileSync(join(dir, 'data.log.gz'))).toEqual(bytes(10, 'a'));
    expect(readFileSync(join(dir, 'manifest.jsonl'), 'utf8')).toBe(good);
    const after = (await readSegment(dir))!;
    expect(after).toMatchObject({ committedBytes: 10, dataBytes: 10 });
    expect(after.manifestValidBytes).toBe(after.manifestBytes);
  });

  it('leaves a clean segment alone', async () => {
    const manifest = line(entry(0, 10));
    const dir = writeSegment(layout.openDir(APP, 2), { meta: meta(), manifest, data: bytes(10) });
    const before = statSync(join(dir, 'data.log.gz')).mtimeMs;
    await cutTornTails((await readSegment(dir))!);
    expect(readFileSync(join(dir, 'manifest.jsonl'), 'utf8')).toBe(manifest);
    expect(statSync(join(dir, 'data.log.gz')).size).toBe(10);
    expect(statSync(join(dir, 'data.log.gz')).mtimeMs).toBe(before);
  });
});

describe('sealSegment', () => {
  it('cuts torn tails and moves the directory to sealed/<segmentId> in one rename', async () => {
    const good = line(entry(0, 10)) + line(entry(10, 6));
    const open = writeSegment(layout.openDir(APP, 2), {
      meta: meta(),
      manifest: good + '{"torn',
      data: Buffer.concat([bytes(16, 'a'), bytes(5, 'z')]),
    });
    const target = await sealSegment(layout, (await readSegment(open))!);

    expect(target).toBe(join(root, APP, 'sealed', SEGMENT_ID));
    expect(existsSync(open)).toBe(false);
    expect(readdirSync(join(root, APP, 'open'))).toEqual([]);
    expect(readdirSync(target).sort()).toEqual(['data.log.gz', 'manifest.jsonl', 'meta.json']);
    expect(readFileSync(join(target, 'data.log.gz'))).toEqual(bytes(16, 'a'));
    expect(readFileSync(join(target, 'manifest.jsonl'), 'utf8')).toBe(good);
    const sealed = (await readSegment(target))!;
    expect(sealed.meta).toEqual(meta());
    expect(sealed).toMatchObject({ committedBytes: 16, dataBytes: 16 });
  });

  it('creates sealed/ next to other sealed segments', async () => {
    mkdirSync(layout.sealedDir(APP, '20240101T000000Z-s0-aaaaaaaa'), { recursive: true });
    const open = writeSegment(layout.openDir(APP, 2), {
      meta: meta(),
      manifest: line(entry(0, 3)),
      data: bytes(3),
    });
    await sealSegment(layout, (await readSegment(open))!);
    expect(await listDirs(layout.sealedRoot(APP))).toEqual([
      '20240101T000000Z-s0-aaaaaaaa',
      SEGMENT_ID,
    ]);
  });
});
