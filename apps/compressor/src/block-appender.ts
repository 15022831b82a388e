import {
  appSlotsResource,
  ATTRS,
  BlocksAppended,
  BlocksCompressed,
  BlockWritten,
  boundedLinks,
  Codec,
  crashPoint,
  inSpan,
  LeaseSemaphore,
  MAX_LINKS,
  SegmentState,
  SlotLeased,
  SPANS,
  StageEvents,
  traceparentOf,
} from '@logsplit/common';
import { context, Span, trace } from '@opentelemetry/api';
import { planBlocks } from './block-builder';
import { PartitionHold } from './partition-guard';
import { TracedChunk } from './partition-work';
import { SegmentWriter } from './segment-writer';

export interface BlockAppenderOptions {
  writerSlots: number;
  lockTtlMs: number;
  lockWaitTimeoutMs: number;
  maxMemberBytes: number;
}

/**
 * One app's gathered chunks → compressed blocks → appended to a slot's segment under the slot's
 * lease. Returns the segments the appends sealed. Nothing else: when to append, retries and
 * commits belong to the caller.
 */
export class BlockAppender {
  constructor(
    private readonly codec: Codec,
    private readonly semaphore: Pick<LeaseSemaphore, 'acquire'>,
    private readonly writer: Pick<SegmentWriter, 'append'>,
    private readonly events: StageEvents,
    private readonly opts: BlockAppenderOptions,
  ) {}

  /**
   * One compressor.append span per app and append: a child of the first chunk's span (so the
   * record's trace continues), linked to the other chunks' spans it merges.
   */
  append(app: string, traced: TracedChunk[], hold: PartitionHold): Promise<SegmentState[]> {
    const [first, ...rest] = traced;
    const parent = first.trace ? trace.setSpanContext(context.active(), first.trace) : undefined;
    const attributes = {
      [ATTRS.appId]: app,
      [ATTRS.chunks]: traced.length,
      [ATTRS.records]: traced.reduce((n, t) => n + t.chunk.records, 0),
      [ATTRS.bytesIn]: traced.reduce((n, t) => n + t.chunk.payload.length, 0),
    };
    const links = boundedLinks(
      rest.map((t) => t.trace),
      MAX_LINKS,
    );
    return inSpan(SPANS.compressorAppend, { parent, attributes, links, root: !parent }, (span) =>
      this.compressAndWrite(app, traced, hold, span),
    );
  }

  private async compressAndWrite(
    app: string,
    chunks: TracedChunk[],
    hold: PartitionHold,
    span: Span,
  ): Promise<SegmentState[]> {
    // The manifest remembers this span, so the uploader's span can link to it.
    const traceparent = traceparentOf(span);
    // Compress before taking the lease: the slot is held only for the disk writes.
    const blocks = await inSpan(SPANS.compressorCompress, {}, async (s) => {
      const planned = planBlocks(hold.topic, hold.partition, chunks, this.opts.maxMemberBytes);
      const out = await Promise.all(
        planned.map(async (b) => ({
          data: await this.codec.compress(b.payload),
          info: traceparent ? { ...b.info, trace: traceparent } : b.info,
        })),
      );
      const rawBytes = out.reduce((n, b) => n + b.info.rawBytes, 0);
      this.events.emit(new BlocksCompressed({ rawBytes, bytes: byteSum(out) }), s);
      return out;
    });
    const lease = await inSpan(SPANS.compressorLockWait, {}, async (s) => {
      const l = await this.semaphore.acquire(appSlotsResource(app), {
        slots: this.opts.writerSlots,
        ttlMs: this.opts.lockTtlMs,
        waitTimeoutMs: this.opts.lockWaitTimeoutMs,
      });
      this.events.emit(new SlotLeased({ slot: l.slot, waitedMs: l.waitedMs }), s, span);
      return l;
    });
    crashPoint('compressor.holding-lock');
    try {
      const attributes = { [ATTRS.lockSlot]: lease.slot };
      return await inSpan(SPANS.compressorWrite, { attributes }, async (s) => {
        // Before a block becomes visible, both fences must still be ours: the slot's (the
        // file) and the partition's (no other instance appends these chunks).
        const assertOwner = async () => {
          await Promise.all([lease.assertHeld(), hold.assertHeld()]);
        };
        const sealed: SegmentState[] = [];
        for (const block of blocks) {
          const outcome = await this.writer.append(
            app,
            lease.slot,
            block.data,
            block.info,
            assertOwner,
          );
          hold.add(block.info.input!.offsets);
          this.events.emit(new BlockWritten({ segmentId: outcome.segmentId }), s, span);
          sealed.push(...outcome.sealed);
        }
        this.events.emit(new BlocksAppended({ app, blocks, sealed: sealed.length }), s, span);
        return sealed;
      });
    } finally {
      await lease.release();
    }
  }
}

function byteSum(blocks: readonly { data: Buffer }[]): number {
  return blocks.reduce((n, b) => n + b.data.length, 0);
}
