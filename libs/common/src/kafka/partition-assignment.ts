export type Assignment = Record<string, number[]>;

/**
 * The partitions this consumer owns as of its latest group join. Work that guards a partition
 * with more than Kafka's ownership (the compressor's partition leases) listens here to let go
 * of what was revoked the moment the group moved it elsewhere.
 */
export class PartitionAssignment {
  private owned: Assignment = {};
  private readonly listeners = new Set<(now: Assignment, before: Assignment) => void>();
  private generation = 0;

  /** Bumped on every join, so holders can tell "same partition, new assignment" apart. */
  get epoch(): number {
    return this.generation;
  }

  update(next: Assignment): void {
    const before = this.owned;
    this.owned = Object.fromEntries(Object.entries(next).map(([t, ps]) => [t, [...ps]]));
    this.generation++;
    for (const listener of this.listeners) listener(this.owned, before);
  }

  owns(topic: string, partition: number): boolean {
    return this.owned[topic]?.includes(partition) ?? false;
  }

  /** Returns the unsubscribe function. */
  onChange(listener: (now: Assignment, before: Assignment) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
