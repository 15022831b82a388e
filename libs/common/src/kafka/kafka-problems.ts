/**
 * Kafka failures seen by the service's own clients (a crashed consumer, a failed start-up), kept
 * until the same source succeeds again, so the Kafka health probe reports what the metadata
 * round trip alone cannot see, such as a missing READ permission on the group.
 */
export class KafkaProblems {
  private readonly bySource = new Map<string, string>();

  report(source: string, reason: string): void {
    this.bySource.set(source, reason);
  }

  clear(source: string): void {
    this.bySource.delete(source);
  }

  /** The first recorded reason, or undefined when every source is fine. */
  get current(): string | undefined {
    return this.bySource.values().next().value;
  }
}
