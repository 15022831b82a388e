import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { lastValueFrom } from 'rxjs';
import { backoffDelay, sleep } from '../util/backoff';
import { KafkaBatch } from './kafka-batch';
import { PartitionAssignment } from './partition-assignment';

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
  /** Called after a batch was handled and committed, e.g. to export consumer lag. */
  onBatchCommitted?: (done: CommittedBatch) => void;
}

export interface CommittedBatch {
  topic: string;
  partition: number;
  /** Messages between the committed offset and the partition's high watermark. */
  lag: number;
}

/**
 * A Nest transport that hands a whole Kafka batch to one handler and commits the batch's offsets
 * only after the handler's promise resolves, i.e. after the handler made its output durable.
 *
 * Nest's built-in Kafka transport calls handlers per message and commits on its own schedule,
 * which cannot express "commit after the durable write of a whole batch"; hence this strategy.
 * A failing handler is retried on the same batch with capped backoff, so a record is never
 * skipped: the partition simply stops advancing until its output can be written.
 */
export class KafkaBatchServer extends Server implements CustomTransportStrategy {
  private readonly log = new Logger(KafkaBatchServer.name);
  private consumer?: Consumer;
  private closing = false;

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
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.log.log(`consuming ${topics.join(', ')} as group ${groupId}`);
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const heartbeat = () => payload.heartbeat();
    const handler = this.getHandlerByPattern(this.options.routes[batch.topic]) as MessageHandler;
    const stale = () => this.closing || !payload.isRunning() || payload.isStale();
    const data: KafkaBatch = {
      topic: batch.topic,
      partition: batch.partition,
      messages: batch.messages,
      heartbeat,
      isStale: stale,
    };

    for (let attempt = 0; ; attempt++) {
      try {
        await lastValueFrom(this.transformToObservable(await handler(data)), {
          defaultValue: undefined,
        });
        break;
      } catch (err) {
        if (stale()) return; // another member now owns the partition and replays the batch
        const delay = backoffDelay(attempt, 200, 30_000);
        this.log.error(
          `batch ${batch.topic}[${batch.partition}]@${batch.firstOffset()} failed (attempt ${attempt + 1}), retrying in ${delay} ms: ${describe(err)}`,
        );
        await sleep(delay);
        await heartbeat().catch(() => undefined);
        if (stale()) return;
      }
    }
    if (stale()) return;
    const last = batch.lastOffset();
    payload.resolveOffset(last);
    const next = BigInt(last) + 1n;
    await this.consumer!.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: next.toString() },
    ]);
    this.options.onBatchCommitted?.({
      topic: batch.topic,
      partition: batch.partition,
      lag: Math.max(0, Number(BigInt(batch.highWatermark) - next)),
    });
    await heartbeat();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.consumer?.disconnect();
  }

  on(): never {
    throw new Error('KafkaBatchServer does not emit events');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
