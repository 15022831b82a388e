import { Readable, Transform, TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCodec } from '@logsplit/common/codec';
import { StorageDriver } from '@logsplit/common/storage';
import { ReadUnit } from './index-scan';

export interface ReadProgress {
  units: number;
  unitsDone: number;
  bytes: number;
  bytesDone: number;
  records: number;
  matched: number;
}

export interface ReadOptions {
  /** Only lines containing this text (plain substring, case-sensitive) are written. */
  grep?: string;
  /** Ranged GETs in flight ahead of the one being written: hides store latency, bounds memory. */
  prefetch?: number;
  onProgress?: (p: ReadProgress) => void;
}

/**
 * Fetches the read units in order and writes their decoded records to out (left open). Units
 * are fetched up to `prefetch` ahead but written strictly in plan order, so the output is in the
 * plan's time order whatever order the fetches finish in.
 */
export async function readUnits(
  store: StorageDriver,
  units: ReadUnit[],
  out: Writable,
  opts: ReadOptions = {},
): Promise<ReadProgress> {
  const progress: ReadProgress = {
    units: units.length,
    unitsDone: 0,
    bytes: units.reduce((n, u) => n + u.end - u.start + 1, 0),
    bytesDone: 0,
    records: 0,
    matched: 0,
  };
  const prefetch = Math.max(1, opts.prefetch ?? 4);
  const inFlight = new Map<number, Promise<Buffer>>();
  const fetch = (u: ReadUnit) => {
    const p = store.getBuffer(u.key, { start: u.start, end: u.end });
    // Awaited in order below; this keeps a later failure from being "unhandled" meanwhile.
    void p.catch(() => undefined);
    return p;
  };
  for (let i = 0; i < Math.min(prefetch, units.length); i++) inFlight.set(i, fetch(units[i]));

  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    const body = await inFlight.get(i)!;
    inFlight.delete(i);
    if (i + prefetch < units.length) inFlight.set(i + prefetch, fetch(units[i + prefetch]));
    const expected = u.end - u.start + 1;
    if (body.length !== expected) {
      throw new Error(
        `${u.key} bytes ${u.start}-${u.end}: got ${body.length} bytes, the index says ${expected}: ` +
          'the object changed or is truncated',
      );
    }
    const counter = new LineCounter(opts.grep);
    await pipeline(
      Readable.from([body]),
      createCodec(u.codec, 1).createDecompressStream(),
      counter,
      out,
      { end: false },
    );
    if (counter.lines !== u.records) {
      throw new Error(
        `${u.key} bytes ${u.start}-${u.end}: decoded ${counter.lines} records, the index says ${u.records}`,
      );
    }
    progress.unitsDone += 1;
    progress.bytesDone += expected;
    progress.records += counter.lines;
    progress.matched += counter.matched;
    opts.onProgress?.(progress);
  }
  return progress;
}

/**
 * Counts records (every stored record ends with exactly one '\n') and, with a grep text, passes
 * on only the lines containing it. Without grep, bytes pass through untouched.
 */
class LineCounter extends Transform {
  lines = 0;
  matched = 0;
  private tail: Buffer = Buffer.alloc(0);
  private readonly needle?: Buffer;

  constructor(grep?: string) {
    super();
    this.needle = grep === undefined ? undefined : Buffer.from(grep, 'utf8');
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.needle) {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) this.lines++;
      this.matched = this.lines;
      return done(null, chunk);
    }
    const data = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    let start = 0;
    const keep: Buffer[] = [];
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
      const line = data.subarray(start, nl + 1);
      this.lines++;
      if (line.includes(this.needle)) {
        this.matched++;
        keep.push(line);
      }
      start = nl + 1;
    }
    this.tail = Buffer.from(data.subarray(start));
    done(null, keep.length ? Buffer.concat(keep) : undefined);
  }

  override _flush(done: TransformCallback): void {
    if (this.tail.length) {
      done(new Error('a block does not end with a newline: the archive is torn'));
      return;
    }
    done();
  }
}
