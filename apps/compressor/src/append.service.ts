import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import {
  ATTRS,
  boundedLinks,
  Codec,
  CODEC,
  Chunk,
  crashPoint,
  decodeChunk,
  DLQ_HEADERS,
  encodeSegmentEvent,
  KafkaBatch,
  KafkaProducerService,
  LeaseSemaphore,
  appSlotsResource,
  backoffDelay,
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  SegmentState,
  isSafeAppId,
  inSpan,
  MAX_LINKS,
  Metrics,
  PartitionAssignment,
  spanContextFromHeaders,
  SPANS,
  REDIS,
  traceparentOf,
} from '@logsplit/common';
import { context, Span, trace } from '@opentelemetry/api';
import type Redis from 'ioredis';
import { KafkaMessage, Message } from 'kafkajs';
import { asBackpressure, assertSpoolRoom } from './append-backpressure';
import { InputChunk, planBlocks } from './block-builder';
import { PartitionGuard, PartitionHold } from './partition-guard';
import { PartitionWork, TracedChunk } from './partition-work';
import { SegmentWriter } from './segment-writer';
import { WorkLimiter } from './work-limiter';

/** What a compressor is asked to drain on shutdown: the transport runs these before leaving. */
export const DRAINERS = Symbol('DRAINERS');
export type Drainers = ((stop: () => boolean) => Promise<void>)[];

/** Retries of failed appends by the timer back off from this... */
const RETRY_BASE_MS = 200;
/** ...up to this. */
const RETRY_CAP_MS = 30_000;

/**
 * chunk → compressed block → durable append to the app's slot file, with the partition's offsets
 * committed only up to the first chunk not yet durable.
 *
 * An app's chunks are gathered across batches until LOGSPLIT_BLOCK_BYTES or
 * LOGSPLIT_BLOCK_LINGER_MS, then appended as one block: with a thousand apps per partition a
 * batch gives most apps a few records, and block size decides both the compression ratio and the
 * per-append costs (lease, fsyncs). Appends of different apps — of one partition or several — run
 * concurrently (LOGSPLIT_COMPRESSOR_CONCURRENCY) and finish out of order; the commit follows the
 * contiguous finished prefix (ContiguousOffsets), so one partition can keep every core busy and a
 * crash replays exactly what was not durable.
 *
 * Exactly once: each block's manifest line names the by-app messages it holds, and the partition
 * is fenced by a lease (PartitionGuard), so a replay appends only the chunks no manifest holds yet;
 * a failed append reads its app's manifests back before it is retried.
 */
@Injectable()
export class AppendService implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger(AppendService.name);
  private readonly works = new Map<string, PartitionWork>();
  private readonly limiter: WorkLimiter;
  private appendingBytes = 0;
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;

  constructor(
    @Inject(LOGSPLIT_CONFIG) private readonly config: LogsplitConfig,
    @Inject(CODEC) private readonly codec: Codec,
    private readonly semaphore: LeaseSemaphore,
    private readonly writer: SegmentWriter,
    private readonly producer: KafkaProducerService,
    private readonly metrics: Metrics,
    private readonly partitions: PartitionGuard,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly assignment: PartitionAssignment,
    @Inject(DRAINERS) private readonly drainers: Drainers,
  ) {
    this.limiter = new WorkLimiter(config.compressor.concurrency);
  }

  onModuleInit(): void {
    const { blockLingerMs, blockIdleMs } = this.config.compressor;
    const every = Math.min(blockLingerMs / 4, blockIdleMs / 2);
    this.timer = setInterval(() => this.tick(), Math.min(1_000, Math.max(50, every)));
    this.timer.unref();
    this.unsubscribe = this.assignment.onChange((now) => {
      for (const [k, work] of this.works) {
        if (now[work.topic]?.includes(work.partition)) continue;
        // Its next owner replays everything not committed: what is gathered here is dropped.
        work.gone = true;
        work.gathered.clear();
        this.works.delete(k);
      }
    });
    this.drainers.push((stop) => this.drain(stop));
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  /**
   * Takes a batch in: its new chunks are gathered, due apps start appending, and the call returns
   * once the batch is held in memory within LOGSPLIT_COMPRESSOR_BUFFER_BYTES. It throws (and the
   * transport pauses the partition and calls again) while an earlier append of the partition
   * keeps failing, so a failure stops the partition instead of growing its backlog.
   */
  async appendBatch(batch: KafkaBatch): Promise<void> {
    const { spoolDir } = this.config;
    const { topic, partition } = batch;
    const k = `${topic}:${partition}`;
    let work = this.works.get(k);
    if (!work || work.gone) {
      work = new PartitionWork(topic, partition, Number(batch.messages[0].offset));
      this.works.set(k, work);
    }
    // Fetched again (a rebalance that kept the partition here starts at the committed offset).
    const fresh = batch.messages.filter((m) => Number(m.offset) >= work.offsets.next);
    let hold: PartitionHold | undefined;
    try {
      await assertSpoolRoom(spoolDir, this.config.compressor.spoolMinFreeBytes);
      // Fail fast: lease waits retry a down Redis for up to the lock wait timeout.
      if (this.redis.status !== 'ready') throw new Error(`Redis is ${this.redis.status}`);
      hold = await this.partitions.enter(batch, work.offsets.committable());
      work.hold = hold;
      work.commit = (offset) => batch.commit(offset);
      if (work.failure) await this.retryFailed(work, batch);
      const { byApp, invalid } = this.decode(batch, fresh);
      if (invalid.length > 0) {
        await this.producer.send([{ topic: this.config.topics.dlq, messages: invalid }]);
      }
      this.takeIn(work, batch, byApp, fresh);
      this.countIn(byApp, invalid.length);
      this.startDue(work, Date.now());
      await this.makeRoom(work, batch);
      await this.commit(work);
    } catch (err) {
      throw asBackpressure(err, this.redis.status === 'ready', spoolDir);
    } finally {
      hold?.done();
    }
  }

  /** Gathers the batch's chunks that no manifest holds yet; the rest counts as finished. */
  private takeIn(
    work: PartitionWork,
    batch: KafkaBatch,
    byApp: Map<string, TracedChunk[]>,
    fresh: KafkaMessage[],
  ): void {
    const hold = work.hold!;
    const now = Date.now();
    const gathered = new Set<number>();
    let skipped = 0;
    for (const [app, chunks] of byApp) {
      for (const c of chunks) {
        if (hold.holds(c.offset)) {
          skipped++;
          continue;
        }
        work.gather(app, c, now);
        gathered.add(c.offset);
      }
    }
    const offsets = fresh.map((m) => Number(m.offset));
    work.offsets.take(offsets, Number(batch.nextOffset));
    if (gathered.size > 0) work.lastTakeIn = now;
    // Held (skipped) and invalid (sent to the DLQ) chunks are finished already.
    work.offsets.finish(offsets.filter((o) => !gathered.has(o)));
    if (skipped > 0) {
      this.log.log(
        `replay of ${batch.topic}[${batch.partition}]@${batch.messages[0].offset}: skipped ${skipped} chunks the spool already holds`,
      );
    }
  }

  /**
   * Starts appends of the partition's apps that are due (size, age, or `all`). Failed apps wait
   * for their backoff (retryFailed, tick) unless `failedToo`.
   */
  private startDue(work: PartitionWork, now: number, all = false, failedToo = false): void {
    const { blockBytes, blockLingerMs } = this.config.compressor;
    for (const app of work.due(now, blockBytes, blockLingerMs, all)) {
      if (work.failure?.apps.has(app) && !failedToo) continue;
      void this.startAppend(work, app);
    }
  }

  /** Appends the app's gathered chunks as one or more blocks, in the background. */
  private startAppend(work: PartitionWork, app: string): Promise<void> {
    const running = work.appending.get(app);
    if (running) return running;
    const out = work.takeOut(app);
    if (!out) return Promise.resolve();
    this.appendingBytes += out.bytes;
    const hold = work.hold!;
    const job = this.limiter.run(async () => {
      if (work.gone) return; // its next owner replays it
      let chunks = out.chunks;
      if (work.failure?.apps.has(app)) {
        // The failed attempt may have committed blocks after all: read them back first.
        await hold.recheck(app, Math.min(...chunks.map((c) => c.offset)));
        chunks = chunks.filter((c) => !hold.holds(c.offset));
      }
      const sealed = chunks.length > 0 ? await this.appendApp(app, chunks, hold) : [];
      work.offsets.finish(out.chunks.map((c) => c.offset));
      if (work.failure?.apps.delete(app) && work.failure.apps.size === 0) work.failure = undefined;
      if (work.offsets.pending > 0) crashPoint('compressor.mid-batch');
      if (sealed.length > 0) await this.announce(sealed);
    });
    const settled = hold
      .track(job)
      .then(
        () => this.commit(work),
        (err: unknown) => {
          if (work.gone) return;
          work.putBack(app, out);
          const attempt = (work.failure?.attempt ?? -1) + 1;
          const apps = new Set([...(work.failure?.apps ?? []), app]);
          work.failure = { error: err, apps, at: Date.now(), attempt };
          this.log.warn(
            `appending ${app} of ${work.topic}[${work.partition}] failed (attempt ${attempt + 1}), will retry: ${String(err)}`,
          );
        },
      )
      .finally(() => {
        this.appendingBytes -= out.bytes;
        if (work.appending.get(app) === settled) work.appending.delete(app);
      });
    work.appending.set(app, settled);
    return settled;
  }

  /** Appends the failed apps again now; throws while they still fail. */
  private async retryFailed(work: PartitionWork, batch: KafkaBatch): Promise<void> {
    const apps = [...work.failure!.apps];
    await Promise.all(apps.map((app) => this.startAppend(work, app)));
    await batch.heartbeat();
    if (work.failure) throw work.failure.error;
  }

  /**
   * Waits while more raw bytes are in memory than LOGSPLIT_COMPRESSOR_BUFFER_BYTES, starting the
   * largest gathered apps first (the biggest blocks free the most).
   */
  private async makeRoom(work: PartitionWork, batch: KafkaBatch): Promise<void> {
    const limit = this.config.compressor.bufferBytes;
    for (let buffered = this.bufferedBytes(); buffered > limit; buffered = this.bufferedBytes()) {
      if (batch.isStale()) throw new Error(`${batch.topic}[${batch.partition}] was revoked`);
      if (work.failure) throw work.failure.error;
      const candidates = [...this.works.values()]
        .flatMap((w) => [...w.gathered].map(([app, g]) => ({ w, app, bytes: g.bytes })))
        .filter(({ w, app }) => !w.appending.has(app) && !w.failure?.apps.has(app))
        .sort((a, b) => b.bytes - a.bytes);
      // Starting an append moves bytes from gathered to appending: the sum stays `buffered`.
      let freeing = this.appendingBytes;
      for (const c of candidates) {
        if (buffered - freeing <= limit) break;
        freeing += c.bytes;
        void this.startAppend(c.w, c.app);
      }
      const running = [...this.works.values()].flatMap((w) => [...w.appending.values()]);
      if (running.length === 0) break; // only failed apps left: the failure is thrown above
      await Promise.race(running);
      await batch.heartbeat();
    }
  }

  private bufferedBytes(): number {
    let n = this.appendingBytes;
    for (const w of this.works.values()) n += w.gatheredBytes();
    return n;
  }

  /**
   * Commits the partition's finished prefix. Tracked by the hold, so a revoked partition's lease
   * is let go only after it: the next owner never starts below a commit still on its way.
   */
  private async commit(work: PartitionWork): Promise<void> {
    const next = work.committing.then(async () => {
      const offset = work.offsets.committable();
      if (work.gone || offset <= work.committed || !work.commit || !work.hold) return;
      crashPoint('compressor.before-commit');
      await work.hold.track(work.commit(String(offset)));
      work.committed = offset;
    });
    work.committing = next.catch((err: unknown) => {
      // The next append or tick commits again; a rebalance replays from the last commit.
      this.log.warn(`committing ${work.topic}[${work.partition}] failed: ${String(err)}`);
    });
    return work.committing;
  }

  /**
   * Appends what lingered long enough, and everything of a partition that went quiet (the end of
   * a burst: waiting out the linger would only delay it); retries failed apps after a backoff;
   * commits.
   */
  private tick(): void {
    const now = Date.now();
    const { blockIdleMs } = this.config.compressor;
    for (const work of this.works.values()) {
      if (work.gone || !work.hold) continue;
      this.startDue(work, now, now - work.lastTakeIn >= blockIdleMs);
      const f = work.failure;
      if (f && now - f.at >= backoffDelay(f.attempt, RETRY_BASE_MS, RETRY_CAP_MS)) {
        if (work.hold.isHeld()) {
          for (const app of f.apps) void this.startAppend(work, app);
        } else {
          // Lost (say, Redis restarted empty): an idle partition gets no batch to take it again.
          void this.reenter(work);
        }
      }
      if (work.offsets.committable() > work.committed) void this.commit(work);
    }
  }

  private async reenter(work: PartitionWork): Promise<void> {
    if (work.entering) return;
    work.entering = true;
    try {
      const hold = await this.partitions.enter(
        {
          topic: work.topic,
          partition: work.partition,
          heartbeat: async () => {},
          isStale: () => work.gone,
        },
        work.offsets.committable(),
      );
      hold.done();
      work.hold = hold;
      if (work.failure) work.failure.at = 0; // retried on the next tick
    } catch (err) {
      this.log.warn(`taking ${work.topic}[${work.partition}] again failed: ${String(err)}`);
    } finally {
      work.entering = false;
    }
  }

  /** Shutdown: appends everything gathered and commits it before the group is left. */
  private async drain(stop: () => boolean): Promise<void> {
    for (let round = 0; round < 3 && !stop(); round++) {
      const works = [...this.works.values()].filter((w) => !w.gone && w.hold);
      for (const w of works) this.startDue(w, Date.now(), true, true);
      await Promise.all(works.flatMap((w) => [...w.appending.values()]));
      await Promise.all(works.map((w) => this.commit(w)));
      if (works.every((w) => w.idle())) return;
    }
    const left = [...this.works.values()].filter((w) => !w.idle());
    if (left.length > 0) {
      this.log.warn(
        `shutdown: ${left.map((w) => `${w.topic}[${w.partition}]`).join(', ')} not drained; replayed by the next owner`,
      );
    }
  }

  /** Segment events for the uploader; its periodic pass uploads them anyway if this fails. */
  private async announce(sealed: SegmentState[]): Promise<void> {
    try {
      await this.producer.send([
        { topic: this.config.topics.segments, messages: sealed.map(sealedEvent) },
      ]);
    } catch (err) {
      this.log.warn(`announcing ${sealed.length} sealed segments failed: ${String(err)}`);
    }
  }

  /** Counted when taken in: a chunk is taken in once per partition owner. */
  private countIn(byApp: Map<string, TracedChunk[]>, invalid: number): void {
    const m = this.metrics;
    for (const [app, traced] of byApp) {
      const label = m.app(app);
      for (const { chunk } of traced) {
        m.recordsIn.inc({ app: label }, chunk.records);
        m.bytesIn.inc({ app: label }, chunk.payload.length);
      }
    }
    if (invalid > 0) m.dlqRecords.inc({ reason: 'invalid-chunk' }, invalid);
  }

  /**
   * One compressor.append span per app and batch: a child of the first chunk's span (so the
   * record's trace continues), linked to the other chunks' spans it merges.
   */
  private async appendApp(
    app: string,
    traced: TracedChunk[],
    hold: PartitionHold,
  ): Promise<SegmentState[]> {
    const [first, ...rest] = traced;
    const parent = first.trace ? trace.setSpanContext(context.active(), first.trace) : undefined;
    const chunks = traced.map((t) => t.chunk);
    const attributes = {
      [ATTRS.appId]: app,
      [ATTRS.chunks]: chunks.length,
      [ATTRS.records]: chunks.reduce((n, c) => n + c.records, 0),
      [ATTRS.bytesIn]: chunks.reduce((n, c) => n + c.payload.length, 0),
    };
    const links = boundedLinks(
      rest.map((t) => t.trace),
      MAX_LINKS,
    );
    return inSpan(SPANS.compressorAppend, { parent, attributes, links, root: !parent }, (span) =>
      this.compressAndAppend(app, traced, hold, span),
    );
  }

  private async compressAndAppend(
    app: string,
    chunks: InputChunk[],
    hold: PartitionHold,
    span: Span,
  ): Promise<SegmentState[]> {
    const { topic, partition } = hold;
    const { compressor, writerSlots, lockTtlMs } = this.config;
    // The manifest remembers this span, so the uploader's span can link to it.
    const traceparent = traceparentOf(span);
    // Compress before taking the lease: the slot is held only for the disk writes.
    const blocks = await inSpan(SPANS.compressorCompress, {}, async (s) => {
      const out = await Promise.all(
        planBlocks(topic, partition, chunks, compressor.maxMemberBytes).map(async (b) => ({
          data: await this.codec.compress(b.payload),
          info: traceparent ? { ...b.info, trace: traceparent } : b.info,
        })),
      );
      s.setAttributes({
        [ATTRS.bytesIn]: out.reduce((n, b) => n + b.info.rawBytes, 0),
        [ATTRS.bytesOut]: out.reduce((n, b) => n + b.data.length, 0),
      });
      return out;
    });
    const lease = await inSpan(SPANS.compressorLockWait, {}, async (s) => {
      const l = await this.semaphore.acquire(appSlotsResource(app), {
        slots: writerSlots,
        ttlMs: lockTtlMs,
        waitTimeoutMs: compressor.lockWaitTimeoutMs,
      });
      s.setAttributes({ [ATTRS.lockSlot]: l.slot, [ATTRS.lockWaitMs]: l.waitedMs });
      return l;
    });
    crashPoint('compressor.holding-lock');
    span.setAttributes({ [ATTRS.lockSlot]: lease.slot, [ATTRS.lockWaitMs]: lease.waitedMs });
    this.metrics.lockWait.observe(lease.waitedMs / 1000);
    if (lease.slot > 0) this.metrics.lockContended.inc();
    const sealed: SegmentState[] = [];
    try {
      await inSpan(
        SPANS.compressorWrite,
        { attributes: { [ATTRS.lockSlot]: lease.slot } },
        async (s) => {
          // Before a block becomes visible, both fences must still be ours: the slot's (the
          // file) and the partition's (no other instance appends these chunks).
          const assertOwner = async () => {
            await Promise.all([lease.assertHeld(), hold.assertHeld()]);
          };
          for (const block of blocks) {
            const outcome = await this.writer.append(
              app,
              lease.slot,
              block.data,
              block.info,
              assertOwner,
            );
            hold.add(block.info.input!.offsets);
            s.setAttribute(ATTRS.segmentId, outcome.segmentId);
            span.setAttribute(ATTRS.segmentId, outcome.segmentId);
            sealed.push(...outcome.sealed);
          }
          s.setAttribute(ATTRS.sealed, sealed.length);
        },
      );
    } finally {
      await lease.release();
    }
    this.countAppended(app, blocks);
    span.setAttribute(
      ATTRS.bytesOut,
      blocks.reduce((n, b) => n + b.data.length, 0),
    );
    return sealed;
  }

  private countAppended(
    app: string,
    blocks: { data: Buffer; info: { records: number; rawBytes: number } }[],
  ) {
    const m = this.metrics;
    const label = m.app(app);
    for (const b of blocks) {
      m.recordsOut.inc({ app: label }, b.info.records);
      m.bytesOut.inc({ app: label }, b.data.length);
      if (b.data.length > 0) m.compressionRatio.observe(b.info.rawBytes / b.data.length);
    }
  }

  private decode(
    batch: KafkaBatch,
    messages: KafkaMessage[],
  ): { byApp: Map<string, TracedChunk[]>; invalid: Message[] } {
    const byApp = new Map<string, TracedChunk[]>();
    const invalid: Message[] = [];
    for (const m of messages) {
      let chunk: Chunk;
      try {
        chunk = decodeChunk(m.value, m.headers);
        if (m.key?.toString('utf8') !== chunk.app) throw new Error('key differs from app header');
        // The app id names a directory: never trust that the splitter validated it.
        if (!isSafeAppId(chunk.app)) throw new Error('app id is not safe as a path component');
      } catch (err) {
        this.log.warn(
          `chunk ${batch.topic}[${batch.partition}]@${m.offset} rejected: ${String(err)}`,
        );
        invalid.push(deadChunk(batch, m, err));
        continue;
      }
      const list = byApp.get(chunk.app) ?? [];
      list.push({ chunk, offset: Number(m.offset), trace: spanContextFromHeaders(m.headers) });
      byApp.set(chunk.app, list);
    }
    return { byApp, invalid };
  }
}

function deadChunk(batch: KafkaBatch, m: KafkaMessage, err: unknown): Message {
  return {
    key: m.key,
    value: m.value,
    headers: {
      ...m.headers,
      [DLQ_HEADERS.reason]: 'invalid-chunk',
      [DLQ_HEADERS.detail]: (err instanceof Error ? err.message : String(err)).slice(0, 200),
      [DLQ_HEADERS.sourceTopic]: batch.topic,
      [DLQ_HEADERS.sourcePartition]: String(batch.partition),
      [DLQ_HEADERS.sourceOffset]: m.offset,
    },
  };
}

function sealedEvent(s: SegmentState): Message {
  return {
    key: s.meta.app,
    value: encodeSegmentEvent({
      type: 'segment-sealed',
      app: s.meta.app,
      segmentId: s.meta.segmentId,
      bytes: s.committedBytes,
      records: s.entries.reduce((n, e) => n + e.records, 0),
      sealedAt: Date.now(),
    }),
  };
}
