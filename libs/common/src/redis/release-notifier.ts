import type Redis from 'ioredis';
import { attachRedisLogging, RedisLogger } from './redis-client';

/** One waiter's registration on a release channel. */
export interface ReleaseWatch {
  /** Resolves after `ms`, on a release announcement, or on abort, whichever is first. Never rejects. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

interface Waiter {
  /** A release arrived while the waiter was not sleeping: its next wait returns at once. */
  pending: boolean;
  wake?: () => void;
}

/**
 * Wakes local waiters when a slot is released (the release script PUBLISHes on the resource's
 * channel), so a freed slot is taken within a round trip instead of a poll interval.
 * It is only a latency optimisation: messages can be lost (subscriber reconnecting, slot freed
 * by TTL expiry, which publishes nothing), so waiters still poll with capped backoff and
 * correctness never depends on a message arriving. One subscriber connection per notifier,
 * subscribed only to channels that currently have waiters.
 */
export class ReleaseNotifier {
  private sub: Redis | undefined;
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(
    private readonly redis: Redis,
    private readonly enabled: boolean,
    private readonly logger: RedisLogger,
  ) {}

  watch(channel: string): ReleaseWatch {
    const waiter: Waiter = { pending: false };
    if (this.enabled) this.add(channel, waiter);
    return {
      wait: (ms, signal) => sleepOrWake(waiter, ms, signal),
      close: () => {
        waiter.wake?.();
        if (this.enabled) this.remove(channel, waiter);
      },
    };
  }

  /** Closes the subscriber connection; pending waits fall back to their timers. */
  close(): void {
    this.sub?.disconnect();
    this.sub = undefined;
    this.waiters.clear();
  }

  private subscriber(): Redis {
    if (!this.sub) {
      const name = `${this.redis.options.connectionName ?? 'logsplit'}:lease-sub`;
      const sub = this.redis.duplicate({ connectionName: name });
      attachRedisLogging(sub, name, this.logger);
      sub.on('message', (channel: string) => {
        for (const w of this.waiters.get(channel) ?? []) {
          if (w.wake) w.wake();
          else w.pending = true;
        }
      });
      this.sub = sub;
    }
    return this.sub;
  }

  private add(channel: string, waiter: Waiter): void {
    let set = this.waiters.get(channel);
    if (!set) {
      this.waiters.set(channel, (set = new Set()));
      // Not awaited: until it is active, waiters simply poll.
      this.subscriber()
        .subscribe(channel)
        .catch(() => undefined);
    }
    set.add(waiter);
  }

  private remove(channel: string, waiter: Waiter): void {
    const set = this.waiters.get(channel);
    if (!set?.delete(waiter) || set.size > 0) return;
    this.waiters.delete(channel);
    this.sub?.unsubscribe(channel).catch(() => undefined);
  }
}

function sleepOrWake(waiter: Waiter, ms: number, signal?: AbortSignal): Promise<void> {
  if (waiter.pending || signal?.aborted || ms <= 0) {
    waiter.pending = false;
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      waiter.wake = undefined;
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    waiter.wake = done;
  });
}
