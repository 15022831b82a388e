import { KafkaMessage } from 'kafkajs';
import { CHUNK_HEADERS } from '@logsplit/common/chunk';
import { parseLine, Workload } from './records';

/**
 * Copies of every record seen at one stage of the pipeline (raw topic, by-app topic, archives),
 * counted per sequence number. Counts saturate at 255: more copies than that is one verdict.
 */
export class Ledger {
  readonly copies: Uint8Array;
  /** Lines that are not records of this run (another run's, or garbage). */
  foreign = 0;
  /** Lines whose app is not the app they were filed under. */
  misrouted: { seq: number; app: string; filedUnder: string }[] = [];
  /** Where each copy was seen (e.g. "p3@5712"), when the caller says: the trail of a bad record. */
  private readonly firstAt: (string | undefined)[] = [];
  private readonly moreAt = new Map<number, string[]>();

  constructor(private readonly workload: Workload) {
    this.copies = new Uint8Array(workload.count);
  }

  /**
   * Counts one line filed under `app` (undefined: not filed, e.g. a raw record), seen at `at`;
   * returns its seq.
   */
  add(line: string, app?: string, at?: string): number | undefined {
    const r = parseLine(line);
    if (!r || r.run !== this.workload.run || r.seq < 0 || r.seq >= this.workload.count) {
      this.foreign++;
      return undefined;
    }
    if (this.copies[r.seq] < 255) this.copies[r.seq]++;
    if (at !== undefined) {
      if (this.firstAt[r.seq] === undefined) this.firstAt[r.seq] = at;
      else this.moreAt.set(r.seq, [...(this.moreAt.get(r.seq) ?? []), at]);
    }
    const own = this.workload.apps[this.workload.appOf[r.seq]];
    if (r.app !== own || (app !== undefined && app !== own)) {
      if (this.misrouted.length < 1000)
        this.misrouted.push({ seq: r.seq, app: own, filedUnder: app ?? r.app });
    }
    return r.seq;
  }

  /** Where the copies of `seq` were seen, in the order they were read. */
  seenAt(seq: number): string[] {
    const first = this.firstAt[seq];
    return first === undefined ? [] : [first, ...(this.moreAt.get(seq) ?? [])];
  }

  total(): number {
    return this.copies.reduce((n, c) => n + c, 0);
  }
}

/** Counts a raw-topic message (one record per message). */
export function addRawMessage(ledger: Ledger, m: KafkaMessage, partition: number): void {
  if (m.value)
    ledger.add(m.value.toString('utf8').replace(/\n$/, ''), undefined, `p${partition}@${m.offset}`);
}

/** Counts the records of a by-app chunk (records separated by '\n', filed under the key's app). */
export function addChunkMessage(ledger: Ledger, m: KafkaMessage, partition: number): void {
  if (!m.value) return;
  const app = m.key?.toString('utf8');
  const src = (name: string) => m.headers?.[name]?.toString() ?? '?';
  // The chunk's place on the by-app topic and the raw range it says it came from.
  const at = `p${partition}@${m.offset} (raw p${src(CHUNK_HEADERS.sourcePartition)}@${src(CHUNK_HEADERS.sourceOffsets)})`;
  const text = m.value.toString('utf8');
  for (const line of text.split('\n')) if (line !== '') ledger.add(line, app, at);
}
