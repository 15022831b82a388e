import { Logger } from '@nestjs/common';
import type { Consumer } from 'kafkajs';
import { backoffDelay } from '../util/backoff';
import type { KafkaProblems } from './kafka-problems';

export interface ConsumerRevivalOptions {
  consumer: Consumer;
  /** consumer.run with the transport's options (the subscription survives a crash). */
  run: () => Promise<void>;
  closing: () => boolean;
  /** Where the crash's reason goes for the health probe; cleared once the group is joined. */
  problems?: KafkaProblems;
  describe: (err: unknown) => string;
  baseMs?: number;
  capMs?: number;
}

/**
 * kafkajs restarts a crashed consumer only when the cause is retriable; an authentication or
 * authorization failure (wrong password, missing READ on the group) stops it for good. This
 * restarts it anyway, with capped backoff, so the service resumes by itself once the setting
 * or ACL is fixed, and reports each crash's reason to the health probe meanwhile.
 */
export function reviveOnCrash(o: ConsumerRevivalOptions): void {
  const log = new Logger('KafkaConsumer');
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  const { consumer } = o;
  const retry = (err: unknown) => {
    const reason = o.describe(err);
    o.problems?.report('consumer', reason);
    if (o.closing() || timer) return;
    const delay = backoffDelay(attempt++, o.baseMs ?? 2_000, o.capMs ?? 60_000);
    log.warn(`consumer stopped (${reason}); restarting it in ${delay} ms`);
    timer = setTimeout(() => {
      timer = undefined;
      if (o.closing()) return;
      consumer
        .connect()
        .then(() => o.run())
        .catch(retry);
    }, delay);
    timer.unref();
  };
  consumer.on(consumer.events.CRASH, (e) => {
    if (e.payload.restart) o.problems?.report('consumer', o.describe(e.payload.error));
    else retry(e.payload.error);
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    attempt = 0;
    o.problems?.clear('consumer');
  });
}
