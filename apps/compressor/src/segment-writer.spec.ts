import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
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
import {
  GzipCodec,
  ZstdCodec,
  ManifestEntry,
  readSegment,
  SegmentMeta,
  SpoolLayout,
} from '@logsplit/common';
import { BlockInfo, SegmentWriterLimits, SegmentWriter, newSegmentId } from './segment-writer';

const APP = 'app1';
const T0 = Date.UTC(2024, 4, 6, 7, 8, 9, 123);

let root: string;
let layout: SpoolLayout;
let clock: number;
const codec = new GzipCodec(6);
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'segment-writer-'));
  layout = new SpoolLayout(root);
  clock = T0;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function writer(limits: Partial<SegmentWriterLimits> = {}): SegmentWriter {
  return new SegmentWriter(
    layout,
    codec,
    { maxBytes: 1024 * 1024, maxAgeMs: 60_000, fsync: false, ...limits },
    'test-instance',
    () => clock,
  );
}

const owner = async () => {};
let nextOffset = 0;
function info(text: string): BlockInfo {
  const records = text.split('\n').length - 1;
  const first = nextOffset;
  nextOffset += records;
  return {
    records,
    rawBytes: Buffer.byteLength(text),
    minTime: 1000 + first,
    maxTime: 2000 + first,
    sources: [
      {
        topic: 'logs.raw',
        partition: 0,
        firstOffset: String(first),
        lastOffset: String(first + records - 1),
      },
    ],
  };
}

/** Compresses text and appends it as one block to (APP, slot). */
async function append(w: SegmentWriter, slot: number, text: string, assertOwner = owner) {
  const block = await codec.compress(Buffer.from(text));
  const outcome = await w.append(APP, slot, block, info(text), assertOwner);
  return { ...outcome, block };
}

/** One line of n numbers that compresses poorly: 40 of them cross 200 compressed bytes. */
const noise = (n: number) =>
  Array.from({ length: n }, (_, i) => `${i * 7919}-${(i * 104729) % 9973}`).join(' ') + '\n';

/** `gzip -dc file`: the real tool, so the file must be a valid multi-member gzip file. */
function gunzip(path: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('gzip', ['-dc', path], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function zcat(path: string): string {
  const r = gunzip(path);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

const openDir = (slot: number) => layout.openDir(APP, slot);
const dataFile = (dir: string) => join(dir, 'data.log.gz');
const manifestFile = (dir: string) => join(dir, 'manifest.jsonl');
const readyMeta = (slot: number): SegmentMeta => ({
  segmentId: newSegmentId(T0, slot),
  app: APP,
  slot,
  codec: 'gzip',
  extension: '.log.gz',
  createdAt: T0,
  createdBy: 'crashed-instance',
});
const readMeta = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SegmentMeta;
const readManifest = (dir: string) =>
  readFileSync(manifestFile(dir), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ManifestEntry);

describe('SegmentWriter', () => {
  it('creates the segment of open/slot-<k> on the first append', async () => {
    const w = writer();
    const { segmentId, offset, sealed, block } = await append(w, 3, 'hello\n');
    const dir = openDir(3);
    expect(dir).toBe(join(root, APP, 'open', 'slot-3'));
    expect(readdirSync(dir).sort()).toEqual(['data.log.gz', 'manifest.jsonl', 'meta.json']);
    expect(readMeta(dir)).toEqual({
      segmentId,
      app: APP,
      slot: 3,
      codec: 'gzip',
      extension: '.log.gz',
      createdAt: T0,
      createdBy: 'test-instance',
    });
    expect(offset).toBe(0);
    expect(sealed).toEqual([]);
    expect(readFileSync(dataFile(dir))).toEqual(block);
    expect(zcat(dataFile(dir))).toBe('hello\n');
  });

  it('appends blocks that concatenate into one file gzip -dc reads, with a true manifest', async () => {
    const w = writer();
    const texts = ['a1\na2\n', '{"app":"app1","msg":"ü ✓"}\n', 'c\n'.repeat(500), 'd\n'];
    const outcomes: Awaited<ReturnType<typeof append>>[] = [];
    for (const t of texts) outcomes.push(await append(w, 0, t));

    const dir = openDir(0);
    expect(new Set(outcomes.map((o) => o.segmentId)).size).toBe(1);
    expect(zcat(dataFile(dir))).toBe(texts.join(''));

    const manifest = readManifest(dir);
    let offset = 0;
    expect(manifest).toHaveLength(texts.length);
    manifest.forEach((e, i) => {
      const { block } = outcomes[i];
      expect(outcomes[i].offset).toBe(offset);
      expect(e.offset).toBe(offset);
      expect(e.length).toBe(block.length);
      expect(e.records).toBe(texts[i].split('\n').length - 1);
      expect(e.rawBytes).toBe(Buffer.byteLength(texts[i]));
      // Each block is a gzip member of its own: the manifest's byte range decodes alone.
      const data = readFileSync(dataFile(dir));
      expect(data.subarray(e.offset, e.offset + e.length)).toEqual(block);
      offset += block.length;
    });
    expect(readFileSync(dataFile(dir)).length).toBe(offset);

    const state = (await readSegment(dir))!;
    expect(state.entries).toEqual(manifest);
    expect(state.committedBytes).toBe(offset);
    expect(state.dataBytes).toBe(offset);
  });

  it('keeps the slots of one app in separate files', async () => {
    const w = writer();
    const a = await append(w, 0, 'zero\n');
    const b = await append(w, 1, 'one\n');
    expect(a.segmentId).not.toBe(b.segmentId);
    expect(zcat(dataFile(openDir(0)))).toBe('zero\n');
    expect(zcat(dataFile(openDir(1)))).toBe('one\n');
  });

  it('seals by size: moves the segment to sealed/ and starts a new segment id next', async () => {
    const w = writer({ maxBytes: 200 });
    const first = await append(w, 0, 'small\n');
    expect(first.sealed).toEqual([]);
    const second = await append(w, 0, noise(40));
    expect(second.segmentId).toBe(first.segmentId);
    expect(second.sealed).toHaveLength(1);

    const sealedDir = layout.sealedDir(APP, first.segmentId);
    const s = second.sealed[0];
    expect(s.dir).toBe(sealedDir);
    expect(s.dataPath).toBe(dataFile(sealedDir));
    expect(s.meta.segmentId).toBe(first.segmentId);
    expect(s.entries).toHaveLength(2);
    expect(s.committedBytes).toBe(first.block.length + second.block.length);
    expect(s.committedBytes).toBeGreaterThanOrEqual(200);
    expect(existsSync(openDir(0))).toBe(false);
    expect(zcat(dataFile(sealedDir))).toBe('small\n' + noise(40));
    expect(await readSegment(sealedDir)).toEqual(s);

    const third = await append(w, 0, 'next\n');
    expect(third.segmentId).not.toBe(first.segmentId);
    expect(third.offset).toBe(0);
    expect(zcat(dataFile(openDir(0)))).toBe('next\n');
    expect(zcat(dataFile(sealedDir))).toBe('small\n' + noise(40));
  });

  it('seals by age, on the next append, using the injected clock', async () => {
    const w = writer({ maxAgeMs: 60_000 });
    const first = await append(w, 0, 'old\n');
    clock = T0 + 59_999;
    const young = await append(w, 0, 'still young\n');
    expect(young.sealed).toEqual([]);
    expect(young.segmentId).toBe(first.segmentId);

    clock = T0 + 60_000;
    const next = await append(w, 0, 'new\n');
    expect(next.sealed.map((s) => s.meta.segmentId)).toEqual([first.segmentId]);
    expect(next.segmentId).not.toBe(first.segmentId);
    expect(next.offset).toBe(0);
    expect(readMeta(openDir(0)).createdAt).toBe(T0 + 60_000);
    expect(zcat(dataFile(layout.sealedDir(APP, first.segmentId)))).toBe('old\nstill young\n');
    expect(zcat(dataFile(openDir(0)))).toBe('new\n');
  });

  it('seals a segment of another codec instead of mixing codecs in one file', async () => {
    const gzipFirst = await append(writer(), 0, 'gzip era\n');
    const zstd = new ZstdCodec(3);
    const zstdWriter = new SegmentWriter(
      layout,
      zstd,
      { maxBytes: 1024 * 1024, maxAgeMs: 60_000, fsync: false },
      'test-instance',
      () => clock,
    );
    const text = 'zstd era\n';
    const next = await zstdWriter.append(
      APP,
      0,
      await zstd.compress(Buffer.from(text)),
      info(text),
      owner,
    );
    expect(next.sealed.map((s) => s.meta.segmentId)).toEqual([gzipFirst.segmentId]);
    expect(zcat(dataFile(layout.sealedDir(APP, gzipFirst.segmentId)))).toBe('gzip era\n');
    expect(readMeta(openDir(0)).codec).toBe('zstd');
    const r = spawnSync('zstd', ['-dcq', join(openDir(0), 'data.log.zst')], { encoding: 'utf8' });
    expect(r.stdout).toBe(text);
  });

  it('replaces an old segment that never got a block instead of filling it', async () => {
    const w = writer({ maxAgeMs: 60_000 });
    // A writer created the segment, then crashed before its first block was confirmed.
    const dir = openDir(0);
    mkdirSync(dir, { recursive: true });
    const staleId = newSegmentId(T0, 0);
    writeFileSync(
      join(dir, 'meta.json'),
      JSON.stringify({ ...readyMeta(0), segmentId: staleId, createdAt: T0 }),
    );
    appendFileSync(dataFile(dir), Buffer.from('torn block'));
    clock = T0 + 3_600_000;
    const next = await append(w, 0, 'fresh\n');
    expect(next.sealed).toEqual([]); // nothing to upload from the empty one
    expect(next.segmentId).not.toBe(staleId);
    expect(readMeta(dir).createdAt).toBe(T0 + 3_600_000);
    expect(zcat(dataFile(dir))).toBe('fresh\n');
    expect(existsSync(layout.sealedRoot(APP))).toBe(false);
  });

  it('keeps filling a young segment that has no block yet', async () => {
    const w = writer({ maxAgeMs: 60_000 });
    const dir = openDir(0);
    mkdirSync(dir, { recursive: true });
    const id = newSegmentId(T0, 0);
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...readyMeta(0), segmentId: id }));
    clock = T0 + 59_000;
    expect((await append(w, 0, 'x\n')).segmentId).toBe(id);
  });

  it('cuts a torn tail left by a crash before the next append', async () => {
    const w = writer();
    await append(w, 0, 'one\n');
    await append(w, 0, 'two\n');
    const dir = openDir(0);
    const goodManifest = readFileSync(manifestFile(dir), 'utf8');
    const goodSize = readFileSync(dataFile(dir)).length;
    // Crash: a block (or a part of one) written, its manifest line only partly.
    const torn = (await codec.compress(Buffer.from('lost\n'))).subarray(0, 17);
    appendFileSync(dataFile(dir), torn);
    appendFileSync(manifestFile(dir), '{"offset":' + goodSize + ',"len');
    expect(gunzip(dataFile(dir)).status).not.toBe(0); // the torn tail really breaks the file

    const third = await append(w, 0, 'three\n');
    expect(third.offset).toBe(goodSize);
    expect(zcat(dataFile(dir))).toBe('one\ntwo\nthree\n');
    const manifest = readFileSync(manifestFile(dir), 'utf8');
    expect(manifest.startsWith(goodManifest)).toBe(true);
    expect(readManifest(dir).map((e) => e.offset)).toEqual([0, expect.any(Number), goodSize]);
    const state = (await readSegment(dir))!;
    expect(state.dataBytes).toBe(state.committedBytes);
    expect(state.manifestBytes).toBe(state.manifestValidBytes);
  });

  it('cuts a torn tail when a whole block made it to disk but not its manifest line', async () => {
    const w = writer();
    await append(w, 0, 'one\n');
    const dir = openDir(0);
    appendFileSync(dataFile(dir), await codec.compress(Buffer.from('orphan\n')));
    await append(w, 0, 'two\n');
    expect(zcat(dataFile(dir))).toBe('one\ntwo\n');
  });

  it('cuts a torn tail before sealing by size', async () => {
    const w = writer({ maxBytes: 200 });
    const first = await append(w, 0, 'a\n');
    appendFileSync(dataFile(openDir(0)), Buffer.from('junk'));
    appendFileSync(manifestFile(openDir(0)), '{"off');
    const second = await append(w, 0, noise(40));
    expect(second.sealed).toHaveLength(1);
    const sealedDir = layout.sealedDir(APP, first.segmentId);
    expect(zcat(dataFile(sealedDir))).toBe('a\n' + noise(40));
    expect(readManifest(sealedDir)).toHaveLength(2);
  });

  it('writes nothing when assertStillOwner rejects', async () => {
    const w = writer();
    const lost = async () => {
      throw new Error('lease lost');
    };
    await expect(append(w, 0, 'x\n', lost)).rejects.toThrow('lease lost');
    expect(await readSegment(openDir(0))).toBeUndefined();
    expect(existsSync(dataFile(openDir(0)))).toBe(false);
    expect(existsSync(manifestFile(openDir(0)))).toBe(false);

    await append(w, 0, 'mine\n');
    const dir = openDir(0);
    const data = readFileSync(dataFile(dir));
    const manifest = readFileSync(manifestFile(dir));
    await expect(append(w, 0, 'not mine\n', lost)).rejects.toThrow('lease lost');
    expect(readFileSync(dataFile(dir))).toEqual(data);
    expect(readFileSync(manifestFile(dir))).toEqual(manifest);
    expect(zcat(dataFile(dir))).toBe('mine\n');
  });

  it('neither seals nor cuts a segment when assertStillOwner rejects', async () => {
    const w = writer({ maxAgeMs: 60_000 });
    const first = await append(w, 0, 'mine\n');
    const dir = openDir(0);
    // The new holder is mid-append: its block is written, its manifest line not yet.
    appendFileSync(dataFile(dir), await codec.compress(Buffer.from('in flight\n')));
    const data = readFileSync(dataFile(dir));
    clock = T0 + 120_000; // old enough to seal
    await expect(
      append(w, 0, 'late\n', async () => {
        throw new Error('lease lost');
      }),
    ).rejects.toThrow('lease lost');
    expect(readMeta(dir).segmentId).toBe(first.segmentId);
    expect(existsSync(layout.sealedRoot(APP))).toBe(false);
    expect(readFileSync(dataFile(dir))).toEqual(data);
  });

  it('checks the lease before every append', async () => {
    const w = writer();
    let checks = 0;
    const counting = async () => {
      checks++;
    };
    await append(w, 0, 'a\n', counting);
    const afterFirst = checks;
    expect(afterFirst).toBeGreaterThanOrEqual(1);
    await append(w, 0, 'b\n', counting);
    expect(checks).toBeGreaterThan(afterFirst);
  });

  it('replaces leftovers of a creation that crashed before meta.json was written', async () => {
    const dir = openDir(0);
    const w = writer();
    await append(w, 0, 'x\n');
    rmSync(join(dir, 'meta.json'));
    writeFileSync(manifestFile(dir), '{"offset":0,"length":99999}\n');
    await append(w, 0, 'y\n');
    expect(zcat(dataFile(dir))).toBe('y\n');
    expect(readManifest(dir).map((e) => e.offset)).toEqual([0]);
  });
});

describe('newSegmentId', () => {
  it('names the creation time, the slot and a random part', () => {
    expect(newSegmentId(T0, 7)).toMatch(/^20240506T070809Z-s7-[0-9a-f]{8}$/);
    expect(newSegmentId(T0, 7)).not.toBe(newSegmentId(T0, 7));
  });

  it('sorts by creation time', () => {
    const times = [
      Date.UTC(2023, 11, 31, 23, 59, 59),
      Date.UTC(2024, 0, 1, 0, 0, 0),
      Date.UTC(2024, 0, 1, 0, 0, 1),
      Date.UTC(2024, 0, 1, 9, 0, 0),
      Date.UTC(2024, 0, 1, 10, 0, 0),
      Date.UTC(2024, 9, 1, 0, 0, 0),
    ];
    const ids = times.map((t, i) => newSegmentId(t, 9 - i));
    expect([...ids].sort()).toEqual(ids);
  });

  it('is a valid object-key and upload segment id', () => {
    expect(newSegmentId(T0, 1000)).toMatch(/^[A-Za-z0-9-]+$/);
    expect(newSegmentId(T0, 0)).toContain('-s0-');
  });
});
