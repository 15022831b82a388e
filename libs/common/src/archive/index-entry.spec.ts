import type { SourceRange } from '../chunk';
import type { ManifestEntry, SegmentState } from '../spool';
import { buildIndexEntry, mergeSources, parseIndexEntry, sameIndexEntry } from './index-entry';

const src = (partition: number, firstOffset: string, lastOffset: string, topic = 'logs.raw') => ({
  topic,
  partition,
  firstOffset,
  lastOffset,
});

describe('mergeSources', () => {
  it('returns nothing for nothing', () => {
    expect(mergeSources([])).toEqual([]);
  });

  it('keeps one range per topic and partition, from the smallest first to the largest last', () => {
    expect(mergeSources([src(0, '20', '29'), src(0, '0', '9'), src(0, '10', '19')])).toEqual([
      src(0, '0', '29'),
    ]);
  });

  it('compares offsets as numbers, not strings ("9" < "10")', () => {
    expect(mergeSources([src(0, '10', '10'), src(0, '9', '9')])).toEqual([src(0, '9', '10')]);
    expect(mergeSources([src(0, '9', '9'), src(0, '10', '100')])).toEqual([src(0, '9', '100')]);
    expect(mergeSources([src(0, '100', '199'), src(0, '99', '99')])).toEqual([src(0, '99', '199')]);
  });

  it('handles offsets beyond Number.MAX_SAFE_INTEGER exactly', () => {
    const big = '9007199254740993'; // 2^53 + 1: a double would round it to 2^53
    const bigger = '9007199254740994';
    expect(mergeSources([src(0, bigger, bigger), src(0, big, big)])).toEqual([src(0, big, bigger)]);
  });

  it('sorts by topic, then partition numerically', () => {
    const merged = mergeSources([
      src(10, '1', '1', 'b'),
      src(2, '1', '1', 'b'),
      src(1, '5', '5', 'a'),
      src(10, '3', '3', 'b'),
    ]);
    expect(merged).toEqual([src(1, '5', '5', 'a'), src(2, '1', '1', 'b'), src(10, '1', '3', 'b')]);
  });

  it('does not modify its input', () => {
    const input = [src(0, '5', '6'), src(0, '1', '9')];
    const copy = structuredClone(input);
    mergeSources(input);
    expect(input).toEqual(copy);
  });
});

describe('buildIndexEntry', () => {
  const entry = (
    offset: number,
    length: number,
    records: number,
    minTime: number,
    maxTime: number,
    sources: SourceRange[],
  ): ManifestEntry => ({
    offset,
    length,
    appendedAt: maxTime,
    records,
    rawBytes: length * 4,
    minTime,
    maxTime,
    sources,
  });

  const segment = (entries: ManifestEntry[]): SegmentState => {
    const last = entries[entries.length - 1];
    const committed = last ? last.offset + last.length : 0;
    return {
      dir: '/spool/app1/sealed/seg',
      meta: {
        segmentId: '20240506T070809Z-s1-0011aabb',
        app: 'app1',
        slot: 1,
        codec: 'gzip',
        extension: '.log.gz',
        createdAt: 1_714_979_289_000,
        createdBy: 'host-1',
      },
      entries,
      dataPath: '/spool/app1/sealed/seg/data.log.gz',
      committedBytes: committed,
      dataBytes: committed,
      manifestValidBytes: 0,
      manifestBytes: 0,
    };
  };

  it('sums the manifest, merges sources and lists every block', () => {
    const s = segment([
      entry(0, 100, 5, 3_000, 4_000, [src(1, '10', '14')]),
      entry(100, 50, 2, 1_000, 5_000, [src(1, '9', '9'), src(0, '7', '8')]),
      entry(150, 25, 1, 2_000, 2_500, [src(1, '15', '15')]),
    ]);
    expect(buildIndexEntry(s, 'logs/app1/dt=2024-05-06/hh=07/x.log.gz', 'abc', 42)).toEqual({
      version: 1,
      app: 'app1',
      segmentId: '20240506T070809Z-s1-0011aabb',
      key: 'logs/app1/dt=2024-05-06/hh=07/x.log.gz',
      codec: 'gzip',
      bytes: 175,
      rawBytes: 700,
      records: 8,
      minTime: 1_000,
      maxTime: 5_000,
      md5: 'abc',
      createdAt: 1_714_979_289_000,
      uploadedAt: 42,
      sources: [src(0, '7', '8'), src(1, '9', '15')],
      blocks: [
        { offset: 0, length: 100, records: 5, minTime: 3_000, maxTime: 4_000 },
        { offset: 100, length: 50, records: 2, minTime: 1_000, maxTime: 5_000 },
        { offset: 150, length: 25, records: 1, minTime: 2_000, maxTime: 2_500 },
      ],
    });
  });

  it('counts committed bytes only, not a torn tail', () => {
    const s = { ...segment([entry(0, 10, 1, 1, 2, [src(0, '0', '0')])]), dataBytes: 99 };
    expect(buildIndexEntry(s, 'k', 'm', 0).bytes).toBe(10);
  });

  it('survives a JSON round trip unchanged', () => {
    const e = buildIndexEntry(
      segment([entry(0, 10, 1, 1, 2, [src(0, '18446744073709551615', '18446744073709551615')])]),
      'k',
      'm',
      7,
    );
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });
});

describe('sameIndexEntry', () => {
  const built = {
    version: 1 as const,
    app: 'a',
    segmentId: 's',
    key: 'k',
    codec: 'gzip' as const,
    bytes: 10,
    rawBytes: 40,
    records: 2,
    minTime: 1,
    maxTime: 2,
    md5: 'm',
    createdAt: 0,
    uploadedAt: 100,
    sources: [src(0, '1', '2')],
    blocks: [{ offset: 0, length: 10, records: 2, minTime: 1, maxTime: 2 }],
  };
  const stored = (e: object): unknown => JSON.parse(JSON.stringify(e));

  it('takes an entry that differs only in uploadedAt as the same (the first write stays)', () => {
    expect(sameIndexEntry(stored({ ...built, uploadedAt: 5 }), built)).toBe(true);
  });

  it('tells apart entries that describe different archives, and what is no entry at all', () => {
    expect(sameIndexEntry(stored({ ...built, md5: 'other' }), built)).toBe(false);
    expect(sameIndexEntry(stored({ ...built, blocks: [] }), built)).toBe(false);
    expect(sameIndexEntry(stored({ ...built, extra: 1 }), built)).toBe(false);
    expect(sameIndexEntry(null, built)).toBe(false);
    expect(sameIndexEntry('text', built)).toBe(false);
  });
});

describe('parseIndexEntry', () => {
  const built = {
    version: 1,
    app: 'app1',
    key: 'logs/app1/dt=2024-05-06/hh=07/s.log.gz',
    codec: 'gzip',
    bytes: 30,
    blocks: [{ offset: 0, length: 30, records: 2, minTime: 1, maxTime: 2 }],
  };
  const parse = (e: object, app = 'app1') =>
    parseIndexEntry(Buffer.from(JSON.stringify(e)), 'logs/_index/x.json', 'logs', app);

  it('reads back what the uploader writes', () => {
    expect(parse(built)).toEqual(built);
  });

  it("refuses an entry that is not the app's own, or whose blocks do not fit", () => {
    expect(() => parse(built, 'app2')).toThrow(/names app "app1"/);
    expect(() => parse({ ...built, key: 'logs/app2/s.log.gz' })).toThrow(/outside the app/);
    expect(() => parse({ ...built, codec: 'lz4' })).toThrow(/unknown codec/);
    expect(() => parse({ ...built, bytes: 10 })).toThrow(/ends past/);
    expect(() => parseIndexEntry(Buffer.from('{'), 'k', 'logs', 'app1')).toThrow(/not JSON/);
  });
});
