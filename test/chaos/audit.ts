import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArchivedIndexEntry,
  decodeManyWithCli,
  listDataObjects,
  readIndexEntries,
  splitRecords,
} from '../support/archive';
import { Ledger } from './ledger';
import { Workload } from './records';

/** One app's verdict; only apps with something wrong are listed. */
export interface AppVerdict {
  app: string;
  produced: number;
  archived: number;
  lost: number;
  duplicated: number;
  /** Up to 10 of each, to look up in the archives and logs. */
  lostSeqs: number[];
  duplicatedSeqs: number[];
}

/** Where one record went wrong: the copies at each stage and the segments holding it. */
export interface RecordTrace {
  seq: number;
  app: string;
  raw: number;
  byApp: number;
  archived: number;
  /** Segment ids of the archives holding it (a segment twice = duplicated inside one file). */
  segments: string[];
  /** Where its copies sit on the raw topic ("p3@5712") and the by-app topic (with the chunk's source range). */
  rawAt: string[];
  byAppAt: string[];
  /** Which stage first has the wrong count: the splitter (by-app ≠ raw) or after it. */
  stage: 'splitter' | 'compressor/uploader';
}

export interface AuditResult {
  /** Records the producer had acknowledged. */
  produced: number;
  /** Copies on the raw topic; above `produced` when a producer retry wrote a record twice. */
  onRawTopic: number;
  /** Acknowledged records missing from the raw topic (the broker lost them). */
  missingOnRawTopic: number;
  onByAppTopic: number;
  archives: number;
  archivedRecords: number;
  /** Records on the raw topic that are in no archive (per copy). */
  lost: number;
  /** Extra archived copies beyond the raw topic's (per copy). */
  duplicated: number;
  /** Duplicated copies already on the by-app topic (the splitter), and lost before it. */
  duplicatedBySplitter: number;
  lostBySplitter: number;
  /** Duplicates where both copies sit in one archive (a block appended twice). */
  duplicatedWithinOneArchive: number;
  undecodable: { key: string; error: string }[];
  /** Index entries whose object is missing, or whose size or record count disagrees with it. */
  inconsistent: { key: string; problem: string }[];
  /** Data objects no index entry points at (invisible to readers; garbage, not loss). */
  orphanObjects: string[];
  misrouted: number;
  foreignLines: number;
  apps: { produced: number; archived: number; wrong: AppVerdict[] };
  traces: RecordTrace[];
  /** Segments still on the spool when the run ended (undrained work). */
  spoolLeft: string[];
}

export interface AuditInput {
  workload: Workload;
  produced: number;
  raw: Ledger;
  byApp: Ledger;
  bucketDir: string;
  prefix: string;
  spoolLeft: string[];
}

/**
 * Decodes every archive with the system gzip/zstd (not the writer's code), counts each record's
 * copies, and compares them with the raw topic's copies: the pipeline's promise is that both
 * counts are equal for every record. The by-app topic's count says which side of it broke.
 */
export function audit(i: AuditInput): AuditResult {
  const { workload: w } = i;
  const archived = new Ledger(w);
  const holders = new Map<number, string[]>();
  const firstHolder = new Int32Array(w.count).fill(-1);
  const entries = readIndexEntries(i.bucketDir, i.prefix);
  const undecodable: AuditResult['undecodable'] = [];
  const inconsistent: AuditResult['inconsistent'] = [];
  const present = entries.map((e) => join(i.bucketDir, e.key)).filter((f) => existsSync(f));
  const decoded = decodeManyWithCli(present);
  entries.forEach((e, k) => {
    const lines = readArchive(i.bucketDir, e, decoded, undecodable, inconsistent);
    for (const line of lines ?? []) {
      const seq = archived.add(line, e.app);
      if (seq === undefined) continue;
      if (firstHolder[seq] < 0) firstHolder[seq] = k;
      else
        holders.set(seq, [
          ...(holders.get(seq) ?? [entries[firstHolder[seq]].segmentId]),
          e.segmentId,
        ]);
    }
  });
  const indexed = new Set(entries.map((e) => e.key));
  const orphanObjects = listDataObjects(i.bucketDir, i.prefix).filter((k) => !indexed.has(k));

  const perApp = new Map<number, AppVerdict>();
  const traces: RecordTrace[] = [];
  let lost = 0;
  let duplicated = 0;
  let lostBySplitter = 0;
  let duplicatedBySplitter = 0;
  let within = 0;
  let missingOnRawTopic = 0;
  const producedPerApp = new Float64Array(w.apps.length);
  const archivedPerApp = new Float64Array(w.apps.length);
  for (let seq = 0; seq < w.count; seq++) {
    const raw = i.raw.copies[seq];
    const byApp = i.byApp.copies[seq];
    const arc = archived.copies[seq];
    if (seq < i.produced && raw === 0) missingOnRawTopic++;
    producedPerApp[w.appOf[seq]] += raw;
    archivedPerApp[w.appOf[seq]] += arc;
    if (raw === arc) continue;
    const app = w.apps[w.appOf[seq]];
    const v = perApp.get(w.appOf[seq]) ?? newVerdict(app);
    perApp.set(w.appOf[seq], v);
    const segments =
      holders.get(seq) ?? (firstHolder[seq] >= 0 ? [entries[firstHolder[seq]].segmentId] : []);
    if (arc < raw) {
      lost += raw - arc;
      v.lost += raw - arc;
      if (byApp < raw) lostBySplitter += raw - Math.max(byApp, arc);
      if (v.lostSeqs.length < 10) v.lostSeqs.push(seq);
    } else {
      duplicated += arc - raw;
      v.duplicated += arc - raw;
      if (byApp > raw) duplicatedBySplitter += Math.min(byApp, arc) - raw;
      if (new Set(segments).size < segments.length) within++;
      if (v.duplicatedSeqs.length < 10) v.duplicatedSeqs.push(seq);
    }
    if (traces.length < 200) {
      traces.push({
        seq,
        app,
        raw,
        byApp,
        archived: arc,
        segments,
        rawAt: i.raw.seenAt(seq),
        byAppAt: i.byApp.seenAt(seq),
        stage: byApp !== raw ? 'splitter' : 'compressor/uploader',
      });
    }
  }
  for (const [k, v] of perApp) {
    v.produced = producedPerApp[k];
    v.archived = archivedPerApp[k];
  }
  return {
    produced: i.produced,
    onRawTopic: i.raw.total(),
    missingOnRawTopic,
    onByAppTopic: i.byApp.total(),
    archives: entries.length,
    archivedRecords: archived.total(),
    lost,
    duplicated,
    duplicatedBySplitter,
    lostBySplitter,
    duplicatedWithinOneArchive: within,
    undecodable,
    inconsistent,
    orphanObjects,
    misrouted: archived.misrouted.length,
    foreignLines: archived.foreign,
    apps: {
      produced: producedPerApp.filter((n) => n > 0).length,
      archived: archivedPerApp.filter((n) => n > 0).length,
      wrong: [...perApp.values()].sort((a, b) => b.lost + b.duplicated - (a.lost + a.duplicated)),
    },
    traces,
    spoolLeft: i.spoolLeft,
  };
}

/** The lines of one archive, or undefined (and a finding) when it cannot be read as promised. */
function readArchive(
  bucketDir: string,
  e: ArchivedIndexEntry,
  decoded: Map<string, Buffer | Error>,
  undecodable: AuditResult['undecodable'],
  inconsistent: AuditResult['inconsistent'],
): string[] | undefined {
  const file = join(bucketDir, e.key);
  if (!existsSync(file)) {
    inconsistent.push({ key: e.key, problem: 'index entry points at a missing object' });
    return undefined;
  }
  const size = statSync(file).size;
  if (size !== e.bytes) {
    inconsistent.push({ key: e.key, problem: `object has ${size} bytes, index says ${e.bytes}` });
  }
  let lines: string[];
  try {
    const data = decoded.get(file);
    if (data === undefined || data instanceof Error) throw data ?? new Error('not decoded');
    lines = splitRecords(data);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    undecodable.push({ key: e.key, error: msg.split('\n').slice(0, 3).join(' ') });
    return undefined;
  }
  if (lines.length !== e.records) {
    inconsistent.push({ key: e.key, problem: `${lines.length} records, index says ${e.records}` });
  }
  return lines;
}

function newVerdict(app: string): AppVerdict {
  return {
    app,
    produced: 0,
    archived: 0,
    lost: 0,
    duplicated: 0,
    lostSeqs: [],
    duplicatedSeqs: [],
  };
}
