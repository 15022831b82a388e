/**
 * Offsets of one partition that were taken in but are not finished yet, as the consumer group may
 * only commit the prefix in which every offset is finished: apps of one partition are appended
 * concurrently and finish out of order, so the commit point is the first unfinished offset.
 */
export class ContiguousOffsets {
  /** Taken-in offsets not yet finished, ascending; `head` skips the finished front. */
  private open: number[] = [];
  private head = 0;
  private readonly finished = new Set<number>();
  private end: number;

  /** `from`: the partition's committed offset, where taking in starts. */
  constructor(from: number) {
    this.end = from;
  }

  /** One past the last offset taken in: anything below it was seen already. */
  get next(): number {
    return this.end;
  }

  /** Offsets still unfinished. */
  get pending(): number {
    return this.open.length - this.head - this.finished.size;
  }

  /**
   * Takes in the offsets of a batch (ascending, all ≥ next) that will be finished later;
   * `batchEnd` is one past the batch's last offset, control records included.
   */
  take(offsets: readonly number[], batchEnd: number): void {
    for (const o of offsets) {
      if (o < this.end) throw new Error(`offset ${o} taken in twice (next is ${this.end})`);
      this.open.push(o);
      this.end = o + 1;
    }
    this.end = Math.max(this.end, batchEnd);
  }

  finish(offsets: readonly number[]): void {
    for (const o of offsets) this.finished.add(o);
    while (this.head < this.open.length && this.finished.delete(this.open[this.head])) this.head++;
    if (this.head > 1024 && this.head * 2 > this.open.length) {
      this.open = this.open.slice(this.head);
      this.head = 0;
    }
  }

  /** Where the group may commit: the first unfinished offset, or `next` when all are finished. */
  committable(): number {
    return this.head < this.open.length ? this.open[this.head] : this.end;
  }
}
