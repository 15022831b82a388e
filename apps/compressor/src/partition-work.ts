import { SpanContext } from '@opentelemetry/api';
import { InputChunk } from './block-builder';
import { ContiguousOffsets } from './contiguous-offsets';
import { PartitionHold } from './partition-guard';

/** A decoded chunk, its by-app offset, and the span context of the splitter.chunk span. */
export interface TracedChunk extends InputChunk {
  trace?: SpanContext;
}

/** One app's chunks gathered for its next block. */
export interface Gathered {
  chunks: TracedChunk[];
  bytes: number;
  /** When the oldest of them was taken in. */
  since: number;
}

/**
 * What one by-app partition has in hand: chunks gathered per app across batches (fewer, larger
 * blocks: the compression ratio and the per-append costs both depend on block size), appends in
 * flight, and the offsets not yet durable. Only the finished prefix of the partition is ever
 * committed, so a crash replays exactly what was not appended.
 *
 * The state of one partition, written by the role that owns each part: `gathered` by Gathering,
 * `appending` and `failure` by AppendRunner, `offsets`, `committed`, `committing` and `commit`
 * by OffsetCommitter (and the controller, which sets `commit` per batch), `hold` by whoever
 * entered the partition (the controller, or GatheringClock after a lost lease).
 */
export class PartitionWork {
  readonly offsets: ContiguousOffsets;
  /** Gathered, not yet being appended. */
  readonly gathered = new Map<string, Gathered>();
  /** Apps whose block is being appended right now: one append per app at a time keeps order. */
  readonly appending = new Map<string, Promise<void>>();
  /** The last append failure not yet overcome, and the apps it concerns. */
  failure?: { error: unknown; apps: Set<string>; at: number; attempt: number };
  /** The latest batch's hold of the partition lease, and its commit. */
  hold?: PartitionHold;
  commit?: (offset: string) => Promise<void>;
  committed: number;
  /** Commits run one after the other, each with the prefix finished by then. */
  committing: Promise<void> = Promise.resolve();
  /** When the partition last brought new chunks. */
  lastTakeIn = Date.now();
  /** The timer is taking the partition's lease again (see GatheringClock.reenter). */
  entering = false;
  /** Revoked or lost: nothing more is appended or committed for it. */
  gone = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    from: number,
  ) {
    this.offsets = new ContiguousOffsets(from);
    this.committed = from;
  }

  /** Raw bytes gathered, not counting those being appended. */
  gatheredBytes(): number {
    let n = 0;
    for (const g of this.gathered.values()) n += g.bytes;
    return n;
  }

  gather(app: string, traced: TracedChunk, now: number): void {
    // Copied: a gathered chunk outlives its batch, and a view would keep the whole fetch alive.
    const payload = Buffer.from(traced.chunk.payload);
    const chunk = { ...traced, chunk: { ...traced.chunk, payload } };
    const g = this.gathered.get(app);
    if (g) {
      g.chunks.push(chunk);
      g.bytes += chunk.chunk.payload.length;
    } else {
      this.gathered.set(app, { chunks: [chunk], bytes: chunk.chunk.payload.length, since: now });
    }
  }

  /** Takes an app's gathered chunks out for an append. */
  takeOut(app: string): Gathered | undefined {
    const g = this.gathered.get(app);
    this.gathered.delete(app);
    return g;
  }

  /** A failed append's chunks go back in front of whatever was gathered since. */
  putBack(app: string, out: Gathered): void {
    const g = this.gathered.get(app);
    if (!g) {
      this.gathered.set(app, out);
      return;
    }
    g.chunks = [...out.chunks, ...g.chunks];
    g.bytes += out.bytes;
    g.since = Math.min(g.since, out.since);
  }

  /**
   * Apps whose gathered chunks should be appended now: big enough, old enough, or all of them
   * (`all`: shutdown, memory pressure). Apps with an append in flight wait for it.
   */
  due(now: number, blockBytes: number, lingerMs: number, all = false): string[] {
    const out: string[] = [];
    for (const [app, g] of this.gathered) {
      if (this.appending.has(app)) continue;
      if (all || g.bytes >= blockBytes || now - g.since >= lingerMs) out.push(app);
    }
    return out;
  }

  /** Nothing gathered, nothing in flight. */
  idle(): boolean {
    return this.gathered.size === 0 && this.appending.size === 0;
  }
}
