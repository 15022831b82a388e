import { isKafkaAccessFailure } from './kafka-failure';

/**
 * Kafka failures seen by the service's own clients (a crashed consumer, a denied produce, a
 * failed start-up), described once (describeKafkaFailure) and kept until the same source
 * succeeds again, so the Kafka health probe reports what its metadata round trip alone cannot
 * see, such as a missing READ permission on the group.
 */
export class KafkaProblems {
  private readonly bySource = new Map<string, string>();

  constructor(readonly describe: (err: unknown) => string) {}

  /** Records `err` as the source's problem; returns its description. */
  report(source: string, err: unknown): string {
    const reason = this.describe(err);
    this.bySource.set(source, reason);
    return reason;
  }

  /** Records `err` only when it is an authentication or authorization failure. */
  reportAccessFailure(source: string, err: unknown): void {
    if (isKafkaAccessFailure(err)) this.report(source, err);
  }

  clear(source: string): void {
    this.bySource.delete(source);
  }

  /** The first recorded reason, or undefined when every source is fine. */
  get current(): string | undefined {
    return this.bySource.values().next().value;
  }
}
