import { Logger } from '@nestjs/common';
import type { Metrics } from '../telemetry/metrics';
import { pauseReason, PauseReason } from './pause-reason';

/** The part of a kafkajs Consumer that pausing needs. */
export interface Pausable {
  pause(topicPartitions: { topic: string; partitions: number[] }[]): void;
  resume(topicPartitions: { topic: string; partitions: number[] }[]): void;
}

/**
 * Backpressure on one partition whose batch keeps failing: fetching stops while the transport
 * backs off and retries the same batch, and the pause is reported once, as a log line and the
 * logsplit_consumer_paused gauge, with the reason; `end` resumes and reports how long it lasted.
 */
export class PartitionPause {
  private reason?: PauseReason;
  private since = 0;

  constructor(
    private readonly consumer: Pausable,
    private readonly topic: string,
    private readonly partition: number,
    private readonly metrics?: Metrics,
    private readonly log: Pick<Logger, 'warn' | 'log'> = new Logger('Backpressure'),
    private readonly now: () => number = Date.now,
  ) {}

  get paused(): boolean {
    return this.reason !== undefined;
  }

  /** Records a failed attempt: pauses on the first, follows a changed reason on later ones. */
  failed(err: unknown): PauseReason {
    const reason = pauseReason(err);
    if (this.reason === reason) return reason;
    const labels = { topic: this.topic, partition: String(this.partition) };
    if (this.reason === undefined) {
      this.since = this.now();
      this.consumer.pause([{ topic: this.topic, partitions: [this.partition] }]);
      this.metrics?.consumerPauses.inc({ topic: this.topic, reason });
      this.log.warn(`paused ${this.where()} (reason: ${reason}): ${describeError(err)}`);
    } else {
      this.metrics?.consumerPaused.set({ ...labels, reason: this.reason }, 0);
    }
    this.metrics?.consumerPaused.set({ ...labels, reason }, 1);
    this.reason = reason;
    return reason;
  }

  /** Resumes fetching; `outcome` is `succeeded`, or why the batch was given up. */
  end(outcome: string): void {
    if (this.reason === undefined) return;
    const labels = { topic: this.topic, partition: String(this.partition) };
    this.metrics?.consumerPaused.set({ ...labels, reason: this.reason }, 0);
    this.consumer.resume([{ topic: this.topic, partitions: [this.partition] }]);
    const ms = this.now() - this.since;
    this.log.log(
      outcome === 'succeeded'
        ? `resumed ${this.where()} after ${ms} ms paused (reason: ${this.reason})`
        : `resumed ${this.where()} after ${ms} ms paused (reason: ${this.reason}); batch given up: ${outcome}`,
    );
    this.reason = undefined;
  }

  private where(): string {
    return `${this.topic}[${this.partition}]`;
  }
}

export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
