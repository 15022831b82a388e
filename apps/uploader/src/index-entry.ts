import { isDeepStrictEqual } from 'node:util';
import { IndexEntry, SegmentState, SourceRange } from '@logsplit/common';

export type { IndexEntry };

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
