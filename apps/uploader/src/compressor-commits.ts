import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Admin, Kafka } from 'kafkajs';
import { KAFKA, LOGSPLIT_CONFIG, LogsplitConfig } from '@logsplit/common';
import { CommittedOffsets, partitionId } from './commit-gate';

/** Where the uploader learns what the compressor has committed; a seam for unit tests. */
export abstract class CompressorCommits {
  /** One look-up of the compressor group's committed offsets on the given topics. */
  abstract fetch(topics: string[]): Promise<CommittedOffsets>;
}

/** Asks the broker (OffsetFetch) through one admin client, connected on first use. */
@Injectable()
export class KafkaCompressorCommits extends CompressorCommits implements OnApplicationShutdown {
  private admin?: Promise<Admin>;

  constructor(
    @Inject(LOGSPLIT_CONFIG) private readonly config: LogsplitConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
  ) {
    super();
  }

  async fetch(topics: string[]): Promise<CommittedOffsets> {
    const committed = new Map<string, number>();
    if (topics.length === 0) return committed;
    const groupId = this.config.segments.writerGroup;
    let answer: Awaited<ReturnType<Admin['fetchOffsets']>>;
    try {
      answer = await (await this.connected()).fetchOffsets({ groupId, topics });
    } catch (err) {
      // Connect afresh next time; the old client may hold a dead connection.
      const stale = this.admin;
      this.admin = undefined;
      void stale?.then((a) => a.disconnect()).catch(() => undefined);
      throw new Error(
        `cannot read the committed offsets of consumer group ${groupId} on ${topics.join(', ')}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    for (const { topic, partitions } of answer) {
      for (const { partition, offset } of partitions) {
        const next = Number(offset);
        if (next >= 0) committed.set(partitionId(topic, partition), next);
      }
    }
    return committed;
  }

  async onApplicationShutdown(): Promise<void> {
    const admin = await this.admin?.catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  }

  private connected(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    return this.admin;
  }
}
