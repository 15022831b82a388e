import { promises as fs } from 'node:fs';
import {
  appSlotsResource,
  decideSegment,
  EmptySlotDiscarded,
  inSpan,
  listDirs,
  parseSlotDirName,
  readSegment,
  sealSegment,
  SegmentsConfig,
  SegmentState,
  SPANS,
  StageEvents,
} from '@logsplit/common';
import { mayBeDue, probeOpenSlot } from './open-slot-probe';
import { blockLinks, segmentAttributes } from './segment-spans';
import { TryLease } from './try-lease';
import { UploaderSpool } from './uploader-spool';

export interface SweepTotals {
  sealed: number;
  /** Open segments left open, and the bytes of their data files. */
  open: number;
  openBytes: number;
}

/**
 * Open segments no writer visits (an idle app): sealed once the segment policy says so, or
 * removed when they never got a confirmed block. Acts only under the slot's lease, taken without
 * waiting: a busy slot has a writer that applies the same policy by itself.
 */
export class SpoolSweeper {
  constructor(
    private readonly segments: Pick<SegmentsConfig, 'maxBytes' | 'maxAgeMs' | 'lockTtlMs'>,
    private readonly semaphore: TryLease,
    private readonly spool: UploaderSpool,
    private readonly events: StageEvents,
  ) {}

  /** Seals the app's due open segments; returns how many. */
  async sealDue(app: string, now = Date.now()): Promise<number> {
    return (await this.sweep(app, now)).sealed;
  }

  /** sealDue, also counting the open segments it left open and their data bytes (gauges). */
  async sweep(app: string, now: number): Promise<SweepTotals> {
    const { layout } = this.spool;
    const totals: SweepTotals = { sealed: 0, open: 0, openBytes: 0 };
    for (const name of await listDirs(layout.openRoot(app))) {
      const slot = parseSlotDirName(name);
      if (slot === undefined) continue;
      const dir = layout.openDir(app, slot);
      const probe = await probeOpenSlot(dir);
      const outcome = mayBeDue(probe, now, this.segments)
        ? await this.underLease(app, slot, dir, now)
        : 'kept';
      if (outcome === 'sealed') totals.sealed++;
      if (outcome === 'kept' && probe.dataBytes !== undefined) {
        totals.open++;
        totals.openBytes += probe.dataBytes;
      }
    }
    return totals;
  }

  private async underLease(
    app: string,
    slot: number,
    dir: string,
    now: number,
  ): Promise<'sealed' | 'discarded' | 'kept'> {
    const lease = await this.semaphore.tryAcquireSlot(
      appSlotsResource(app),
      slot,
      this.segments.lockTtlMs,
    );
    if (!lease) return 'kept';
    try {
      const segment = await readSegment(dir);
      const decision = await this.decide(dir, segment, now);
      if (decision === 'keep') return 'kept';
      await lease.assertHeld();
      if (decision === 'discard') {
        await this.spool.remove(dir, `${app}.slot-${slot}`);
        this.events.emit(new EmptySlotDiscarded({ dir }));
        return 'discarded';
      }
      const sealing = segment!;
      const attributes = segmentAttributes(sealing);
      await inSpan(SPANS.uploaderSeal, { root: true, attributes, links: blockLinks(sealing) }, () =>
        sealSegment(this.spool.layout, sealing),
      );
      return 'sealed';
    } finally {
      await lease.release();
    }
  }

  /** The segment policy; a slot without meta.json is as old as its directory. */
  private async decide(dir: string, segment: SegmentState | undefined, now: number) {
    if (segment) {
      const facts = {
        bornAt: segment.meta.createdAt,
        bytes: segment.committedBytes,
        blocks: segment.entries.length,
      };
      return decideSegment(facts, this.segments, now);
    }
    const mtime = await fs.stat(dir).then(
      (st) => st.mtimeMs,
      () => undefined,
    );
    if (mtime === undefined) return 'keep';
    return decideSegment({ bornAt: mtime, bytes: 0, blocks: 0 }, this.segments, now);
  }
}
