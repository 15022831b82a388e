import { Logger } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { TopicsConfig } from '../config';
import { describeError } from './partition-pause';
import { ensureTopics } from './topics';

const RETRY_BASE_MS = 1_000;
const RETRY_CAP_MS = 30_000;
const WAIT_SLICE_MS = 200;

/**
 * The service's topics exist, or why not. A service whose topics are missing (creation off, no
 * CREATE permission, broker unreachable) stays up, reports the reason through its Kafka health
 * and tries again with capped, jittered backoff until it can start consuming.
 */
export class TopicReadiness {
  private readonly log = new Logger('topics');
  /** Why the service cannot start consuming yet; undefined once its topics exist. */
  problem: string | undefined = 'checking topics';

  /** Resolves once the topics exist; rejects only when `stopped()` turns true. */
  async ensure(
    kafka: Kafka,
    topics: TopicsConfig,
    names: string[] | undefined,
    stopped: () => boolean,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await ensureTopics(kafka, topics, names);
        this.problem = undefined;
        return;
      } catch (err) {
        this.problem = err instanceof Error ? err.message : String(err);
        const delay =
          Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.log.warn(`${describeError(err)}; trying again in ${Math.round(delay)} ms`);
        for (const until = Date.now() + delay; Date.now() < until;) {
          if (stopped()) throw new Error('stopped before the topics were ready');
          await new Promise((r) => setTimeout(r, WAIT_SLICE_MS));
        }
      }
    }
  }
}
