import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { lastValueFrom } from 'rxjs';
import type { Metrics } from '../telemetry/metrics';
import { backoffDelay, sleep } from '../util/backoff';
import { KafkaBatch } from './kafka-batch';
import { PartitionAssignment } from './partition-assignment';
import { reviveOnCrash } from './consumer-revival';
import { isKafkaAccessFailure } from './kafka-failure';
import type { KafkaProblems } from './kafka-problems';
import { describeError, PartitionPause } from './partition-pause';

export interface KafkaBatchServerOptions {
  kafka: Kafka;
  groupId: string;
  /**
   * Topic → handler pattern. Handlers use a fixed @EventPattern name while topic names come
   * from configuration at run time.
   */
  routes: Record<string, string>;
  /** Partitions whose batches run at the same time in this instance. */
  partitionsConsumedConcurrently?: number;
  maxBytesPerPartition?: number;
  sessionTimeoutMs?: number;
  /** Work to run once connected, before consuming (e.g. creating topics). */
  beforeConsume?: () => Promise<void>;
  /** Kept up to date with the partitions this member owns after each group join. */
  assignment?: PartitionAssignment;
  /**
   * Who commits a handled batch's offsets. `transport` (default): this server, once the handler
   * resolved. `handler`: the handler itself, atomically with its output (a Kafka transaction's
   * sendOffsets, with KafkaBatch.nextOffset); the server then only advances its fetch position.
   */
  offsetCommit?: 'transport' | 'handler';
  /**
   * Called on close after fetching stopped and the batches in hand ended, before the group is
   * left: handlers that keep records past their batch make them durable and commit them here.
   * `stop()` turns true when shutdown runs out of time.
   */
  drain?: (stop: () => boolean) => Promise<void>;
  /** Consumer lag and backpressure (paused partitions) are exported here. */
  metrics?: Metrics;
  /** Backoff between attempts at a failing batch (defaults 200 ms doubling to 30 s, jittered). */
  retryBaseMs?: number;
  retryCapMs?: number;
  /** Consumer crashes are reported here (see reviveOnCrash), described by describeFailure. */
  problems?: KafkaProblems;
  describeFailure?: (err: unknown) => string;
}

/** A batch being handled, as the shutdown log names what it abandons. */
export interface InFlightBatch {
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  records: number;
  sinceMs: number;
}

/** kafkajs error types that mean the group moved on: the batch's partition may be gone. */
const REBALANCE_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);
/** Backoff sleeps are cut in slices so that heartbeats continue and shutdown is noticed. */
const WAIT_SLICE_MS = 1_000;

/**
 * A Nest transport that hands a whole Kafka batch to one handler and commits the batch's offsets
 * only after the handler's promise resolves, i.e. after the handler made its output durable.
 *
 * Nest's built-in Kafka transport calls handlers per message and commits on its own schedule,
 * which cannot express "commit after the durable write of a whole batch"; hence this strategy.
 * A failing handler is retried on the same batch with capped, jittered backoff while its
 * partition is paused (backpressure, reported by PartitionPause), so a record is never skipped:
 * the partition stops advancing until its output can be written, then resumes by itself.
 *
 * Shutdown (close): no batch is fetched any more, retries stop, a batch in hand finishes and is
 * committed. `abandon()` tells handlers to stop early (KafkaBatch.isStale) when the time is up;
 * whatever is not committed is replayed by the partition's next owner.
 */
export class KafkaBatchServer extends Server implements CustomTransportStrategy {
  private readonly log = new Logger(KafkaBatchServer.name);
  private consumer?: Consumer;
  private closing = false;
  private abandoning = false;
  private readonly inFlight = new Map<string, InFlightBatch>();

  constructor(private readonly options: KafkaBatchServerOptions) {
    super();
  }

  async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      await this.start();
      callback();
    } catch (err) {
      callback(err);
    }
  }

  private async start(): Promise<void> {
    const { kafka, groupId, routes } = this.options;
    const topics = Object.keys(routes);
    for (const pattern of Object.values(routes)) {
      if (!this.getHandlerByPattern(pattern)) {
        throw new Error(`no @EventPattern('${pattern}') handler is registered for ${groupId}`);
      }
    }
    await this.options.beforeConsume?.();
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      // Upstream output is transactional (the splitter's): never read what may be aborted.
      readUncommitted: false,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    const { assignment } = this.options;
    if (assignment) {
      consumer.on(consumer.events.GROUP_JOIN, (e) => assignment.update(e.payload.memberAssignment));
      // A stopped or crashed consumer owns nothing, whatever its last join said.
      consumer.on(consumer.events.STOP, () => assignment.update({}));
      consumer.on(consumer.events.CRASH, () => assignment.update({}));
    }
    consumer.on(consumer.events.GROUP_JOIN, (e) =>
      this.log.log(`joined group ${groupId} in ${e.payload.duration} ms`),
    );
    const run = () =>
      consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
        eachBatch: (payload) => this.handleBatch(payload),
      });
    reviveOnCrash({
      consumer,
      run,
      closing: () => this.closing,
      problems: this.options.problems,
      describe: this.options.describeFailure ?? describeError,
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    // Not awaited: run() resolves only once the group has been joined, and a join waits for
    // every other member to rejoin (up to their heartbeat interval and batch in hand). A member
    // waiting for its partitions is up; failed joins are retried or reported (CRASH) by kafkajs.
    run().catch((err) => this.log.error(`consumer of ${groupId} failed: ${describeError(err)}`));
    this.log.log(`consuming ${topics.join(', ')} as group ${groupId} (joining)`);
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const { topic, partition } = batch;
    const where = `${topic}[${partition}]@${batch.firstOffset()}`;
    const handler = this.getHandlerByPattern(this.options.routes[topic]) as MessageHandler;
    // The partition may be gone: a seek, a crashed runner, or a rebalance seen by a heartbeat.
    let rebalanced = false;
    const lost = () => rebalanced || payload.isStale() || (!payload.isRunning() && !this.closing);
    const heartbeat = async () => {
      try {
        await payload.heartbeat();
      } catch (err) {
        if (REBALANCE_ERRORS.has((err as { type?: string }).type ?? '')) rebalanced = true;
        throw err;
      }
    };
    const last = batch.lastOffset();
    const nextOffset = (BigInt(last) + 1n).toString();
    const data: KafkaBatch = {
      topic,
      partition,
      messages: batch.messages,
      nextOffset,
      commit: async (offset) => {
        await payload.commitOffsetsIfNecessary({
          topics: [{ topic, partitions: [{ partition, offset }] }],
        });
      },
      heartbeat,
      isStale: () => lost() || this.abandoning,
    };
    const key = `${topic}:${partition}`;
    this.inFlight.set(key, {
      topic,
      partition,
      firstOffset: batch.messages[0].offset,
      lastOffset: last,
      records: batch.messages.length,
      sinceMs: Date.now(),
    });
    const pause = new PartitionPause(this.consumer!, topic, partition, this.options.metrics);
    const giveUp = () =>
      lost() ? 'partition revoked' : this.abandoning || this.closing ? 'shutting down' : undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await lastValueFrom(this.transformToObservable(await handler(data)), {
            defaultValue: undefined,
          });
          break;
        } catch (err) {
          const why = giveUp();
          if (why) {
            pause.end(why);
            this.log.warn(`batch ${where} not committed (${why}): ${describeError(err)}`);
            return; // the partition's next owner replays it
          }
          const reason = pause.failed(err);
          // A denied produce (missing WRITE on the output topic) makes the service NOT_SERVING.
          if (isKafkaAccessFailure(err) && this.options.describeFailure) {
            this.options.problems?.report('batch', this.options.describeFailure(err));
          }
          const delay = backoffDelay(
            attempt,
            this.options.retryBaseMs ?? 200,
            this.options.retryCapMs ?? 30_000,
          );
          // The first failure is reported by the pause itself.
          if (attempt > 0) {
            this.log.warn(
              `batch ${where} failed again (attempt ${attempt + 1}, ${reason}), retrying in ${delay} ms: ${describeError(err)}`,
            );
          }
          if (!(await this.wait(delay, heartbeat, () => giveUp() !== undefined))) {
            const stopped = giveUp()!;
            pause.end(stopped);
            this.log.warn(`batch ${where} not committed (${stopped}), left to be replayed`);
            return;
          }
        }
      }
      pause.end('succeeded');
      this.options.problems?.clear('batch');
      if (lost()) return;
      payload.resolveOffset(last);
      if (this.options.offsetCommit !== 'handler') {
        // Straight to the group, not consumer.commitOffsets: that one is a no-op once the
        // consumer is stopping, and a batch finished during shutdown must still commit.
        await payload.commitOffsetsIfNecessary({
          topics: [{ topic, partitions: [{ partition, offset: nextOffset }] }],
        });
      }
      this.options.metrics?.consumerLag.set(
        { topic, partition: String(partition) },
        Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(nextOffset))),
      );
      await heartbeat().catch(() => undefined);
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** Sleeps `ms` while heartbeating; false as soon as `stop()` says to give up. */
  private async wait(
    ms: number,
    heartbeat: () => Promise<void>,
    stop: () => boolean,
  ): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      if (stop()) return false;
      const left = until - Date.now();
      if (left <= 0) return true;
      await sleep(Math.min(WAIT_SLICE_MS, left));
      await heartbeat().catch(() => undefined);
    }
  }

  /** Batches being handled right now (what a shutdown that runs out of time abandons). */
  batchesInFlight(): InFlightBatch[] {
    return [...this.inFlight.values()];
  }

  /** From now on handlers are told to stop (isStale), and nothing more is retried. */
  abandon(): void {
    this.abandoning = true;
  }

  /** Stops fetching and retrying, lets the batches in hand finish and commit, leaves the group. */
  async close(): Promise<void> {
    this.closing = true;
    const { drain, routes } = this.options;
    if (drain && this.consumer) {
      this.consumer.pause(Object.keys(routes).map((topic) => ({ topic })));
      while (this.inFlight.size > 0 && !this.abandoning) await sleep(50);
      try {
        await drain(() => this.abandoning);
      } catch (err) {
        this.log.warn(`draining before leaving the group failed: ${describeError(err)}`);
      }
    }
    await this.consumer?.disconnect();
  }

  on(): never {
    throw new Error('KafkaBatchServer does not emit events');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }
}
