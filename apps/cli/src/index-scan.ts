import { IndexEntryView, parseIndexEntry } from '@logsplit/common/archive';
import { appIndexPrefix, StorageDriver } from '@logsplit/common/storage';
import { mapLimit } from '@logsplit/common/util';
import { TimeWindow } from './time-arg';

/** One block of a segment: one gzip member / zstd frame, decodable on its own. */
export interface IndexedBlock {
  key: string;
  codec: 'gzip' | 'zstd';
  offset: number;
  length: number;
  records: number;
  minTime: number;
  maxTime: number;
}

/** Beyond this many dt= days, one listing of the app's whole index costs fewer requests. */
const MAX_DAY_PREFIXES = 31;
const DAY_MS = 86_400_000;

/**
 * The list prefixes that hold every index entry whose segment may have records in the window.
 * Entries are partitioned by the UTC day the segment was created, not by record time: a segment
 * created at C holds records stamped from C - lag (produced earlier, arrived late) up to the seal
 * age after C. `lagMs` bounds both, so only the days of [since - lag, until + lag] are listed;
 * with no --since every day is.
 */
export function indexListPrefixes(
  storePrefix: string,
  app: string,
  window: TimeWindow,
  lagMs: number,
  now: number = Date.now(),
): string[] {
  const base = appIndexPrefix(storePrefix, app);
  if (!Number.isFinite(window.since)) return [base];
  const from = Math.floor((window.since - lagMs) / DAY_MS);
  // No --until: nothing can be in a segment created after now (+ lag for clock skew).
  const to = Math.floor((Math.min(window.until, now) + lagMs) / DAY_MS);
  if (to - from + 1 > MAX_DAY_PREFIXES) return [base];
  const out: string[] = [];
  for (let d = from; d <= to; d++) {
    out.push(`${base}dt=${new Date(d * DAY_MS).toISOString().slice(0, 10)}/`);
  }
  return out;
}

/** Lists and fetches the index entries under the prefixes; at most `concurrency` gets at once. */
export async function readIndexEntries(
  store: StorageDriver,
  storePrefix: string,
  app: string,
  prefixes: string[],
  concurrency = 8,
): Promise<IndexEntryView[]> {
  const keys: string[] = [];
  for (const p of prefixes) {
    for await (const key of store.list(p)) if (key.endsWith('.json')) keys.push(key);
  }
  const entries: IndexEntryView[] = [];
  await mapLimit(keys, concurrency, async (key) => {
    entries.push(parseIndexEntry(await store.getBuffer(key), key, storePrefix, app));
  });
  return entries.sort((a, b) => a.minTime - b.minTime || cmp(a.key, b.key));
}

/**
 * The blocks whose time range overlaps the window (the read is block-granular: a block is read
 * whole), in time order: by first record time, then by object and offset, so one segment's
 * blocks stay in file order when their times tie.
 */
export function selectBlocks(entries: IndexEntryView[], window: TimeWindow): IndexedBlock[] {
  const out: IndexedBlock[] = [];
  for (const e of entries) {
    if (e.maxTime < window.since || e.minTime > window.until) continue;
    for (const b of e.blocks) {
      if (b.maxTime < window.since || b.minTime > window.until) continue;
      out.push({ key: e.key, codec: e.codec, ...b });
    }
  }
  return out.sort(
    (a, b) =>
      a.minTime - b.minTime || a.maxTime - b.maxTime || cmp(a.key, b.key) || a.offset - b.offset,
  );
}

/** One ranged GET: consecutive blocks (in read order) that are also adjacent in one object. */
export interface ReadUnit {
  key: string;
  codec: 'gzip' | 'zstd';
  start: number;
  /** Inclusive, as ByteRange. */
  end: number;
  blocks: number;
  records: number;
}

export function planReads(blocks: IndexedBlock[], maxUnitBytes = 8 * 1024 * 1024): ReadUnit[] {
  const units: ReadUnit[] = [];
  for (const b of blocks) {
    const last = units[units.length - 1];
    if (
      last &&
      last.key === b.key &&
      last.end + 1 === b.offset &&
      b.offset + b.length - last.start <= maxUnitBytes
    ) {
      last.end = b.offset + b.length - 1;
      last.blocks += 1;
      last.records += b.records;
    } else {
      units.push({
        key: b.key,
        codec: b.codec,
        start: b.offset,
        end: b.offset + b.length - 1,
        blocks: 1,
        records: b.records,
      });
    }
  }
  return units;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
