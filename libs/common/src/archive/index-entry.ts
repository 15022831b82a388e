/**
 * The index-entry format, in one place: the type, how the uploader builds an entry from a
 * segment, when a stored entry counts as the same, and how a reader parses and checks one.
 */
import { isDeepStrictEqual } from 'node:util';
import type { SourceRange } from '../chunk';
import type { CodecName } from '../config';
import type { SegmentState } from '../spool';
import { appSegmentPrefix } from '../storage/object-keys';

/** One gzip member / zstd frame of an archived segment, decodable on its own. */
export interface IndexedBlockRange {
  offset: number;
  length: number;
  records: number;
  minTime: number;
  maxTime: number;
}

/**
 * What a reader needs to find and fetch one app's logs without listing or opening others':
 * one JSON object per archived segment, stored under the app's own index prefix. Written by the
 * uploader, read by `logsplit logs`.
 */
export interface IndexEntry {
  version: 1;
  app: string;
  segmentId: string;
  key: string;
  codec: CodecName;
  bytes: number;
  rawBytes: number;
  records: number;
  minTime: number;
  maxTime: number;
  md5: string;
  createdAt: number;
  uploadedAt: number;
  /** Source coordinates of the raw records, merged per partition. */
  sources: SourceRange[];
  /** Byte range of every block, for range reads of one block. */
  blocks: IndexedBlockRange[];
}

/**
 * Whether a stored index entry describes the same archive as a freshly built one. Everything in
 * an entry follows from the segment, its key and its md5, except uploadedAt: the entry is
 * written create-if-absent, so the first attempt's uploadedAt stays (the moment the archive
 * became complete) and a retry after a crash finds an equal entry and keeps it.
 */
export function sameIndexEntry(stored: unknown, built: IndexEntry): boolean {
  if (typeof stored !== 'object' || stored === null) return false;
  const { uploadedAt: _a, ...a } = stored as IndexEntry;
  // Through JSON, as stored: undefined fields vanish, as they do on the way to the store.
  const { uploadedAt: _b, ...b } = JSON.parse(JSON.stringify(built)) as IndexEntry;
  return isDeepStrictEqual(a, b);
}

/** The entry of a sealed segment uploaded to `key` with that md5. */
export function buildIndexEntry(
  segment: SegmentState,
  key: string,
  md5: string,
  uploadedAt: number,
): IndexEntry {
  let records = 0;
  let rawBytes = 0;
  let minTime = Infinity;
  let maxTime = -Infinity;
  for (const e of segment.entries) {
    records += e.records;
    rawBytes += e.rawBytes;
    minTime = Math.min(minTime, e.minTime);
    maxTime = Math.max(maxTime, e.maxTime);
  }
  return {
    version: 1,
    app: segment.meta.app,
    segmentId: segment.meta.segmentId,
    key,
    codec: segment.meta.codec,
    bytes: segment.committedBytes,
    rawBytes,
    records,
    minTime,
    maxTime,
    md5,
    createdAt: segment.meta.createdAt,
    uploadedAt,
    sources: mergeSources(segment.entries.flatMap((e) => e.sources)),
    blocks: segment.entries.map(({ offset, length, records, minTime, maxTime }) => ({
      offset,
      length,
      records,
      minTime,
      maxTime,
    })),
  };
}

/** One range per (topic, partition), from the smallest first to the largest last offset. */
export function mergeSources(sources: SourceRange[]): SourceRange[] {
  const merged = new Map<string, SourceRange>();
  for (const s of sources) {
    const id = `${s.topic}\u0000${s.partition}`;
    const m = merged.get(id);
    if (!m) {
      merged.set(id, { ...s });
      continue;
    }
    if (BigInt(s.firstOffset) < BigInt(m.firstOffset)) m.firstOffset = s.firstOffset;
    if (BigInt(s.lastOffset) > BigInt(m.lastOffset)) m.lastOffset = s.lastOffset;
  }
  return [...merged.values()].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
}

/**
 * The fields of an index entry that a reader relies on, checked when parsed: a reader must not
 * trust a key or a range it did not check, since it fetches exactly what the entry names.
 */
export type IndexEntryView = Pick<
  IndexEntry,
  'app' | 'segmentId' | 'key' | 'codec' | 'bytes' | 'records' | 'minTime' | 'maxTime' | 'blocks'
> &
  Partial<Pick<IndexEntry, 'rawBytes'>>;

/** An entry read from `indexKey`, checked to be app's own and its blocks to be sound; or throws. */
export function parseIndexEntry(
  body: Buffer,
  indexKey: string,
  storePrefix: string,
  app: string,
): IndexEntryView {
  const fail = (why: string): never => {
    throw new Error(`index entry ${indexKey} is unusable: ${why}`);
  };
  let e: Partial<IndexEntryView>;
  try {
    e = JSON.parse(body.toString('utf8')) as Partial<IndexEntryView>;
  } catch {
    return fail('not JSON');
  }
  if (e.app !== app) fail(`it names app ${JSON.stringify(e.app)}`);
  // The data object must be this app's: a reader of app A never fetches app B's bytes.
  if (typeof e.key !== 'string' || !e.key.startsWith(appSegmentPrefix(storePrefix, app))) {
    fail(`its key ${JSON.stringify(e.key)} is outside the app's prefix`);
  }
  if (e.codec !== 'gzip' && e.codec !== 'zstd') fail(`unknown codec ${JSON.stringify(e.codec)}`);
  if (!Array.isArray(e.blocks)) fail('no blocks');
  const nat = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  for (const b of e.blocks!) {
    if (![b.offset, b.length, b.records, b.minTime, b.maxTime].every(nat) || b.length === 0) {
      fail(`bad block ${JSON.stringify(b)}`);
    }
    if (typeof e.bytes === 'number' && b.offset + b.length > e.bytes) {
      fail(`block ${b.offset}+${b.length} ends past the object's ${e.bytes} bytes`);
    }
  }
  return e as IndexEntryView;
}
