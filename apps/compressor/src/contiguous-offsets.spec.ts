import { ContiguousOffsets } from './contiguous-offsets';

describe('ContiguousOffsets', () => {
  it('commits up to the first unfinished offset, whatever finished after it', () => {
    const o = new ContiguousOffsets(10);
    o.take([10, 11, 12, 13], 14);
    o.finish([11, 13]);
    expect(o.committable()).toBe(10);
    expect(o.pending).toBe(2);
    o.finish([10]);
    expect(o.committable()).toBe(12);
    o.finish([12]);
    expect(o.committable()).toBe(14);
    expect(o.pending).toBe(0);
  });

  it('commits past control records and gaps once everything before is finished', () => {
    const o = new ContiguousOffsets(0);
    o.take([0, 5], 9); // 1-4 aborted records, 6-8 markers
    expect(o.next).toBe(9);
    o.finish([0]);
    expect(o.committable()).toBe(5);
    o.finish([5]);
    expect(o.committable()).toBe(9);
  });

  it('refuses an offset taken in twice', () => {
    const o = new ContiguousOffsets(0);
    o.take([0, 1], 2);
    expect(() => o.take([1], 2)).toThrow(/twice/);
  });

  it('stays correct over many offsets finished in random order', () => {
    const o = new ContiguousOffsets(0);
    const n = 5_000;
    o.take(
      Array.from({ length: n }, (_, i) => i),
      n,
    );
    const order = Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => ((a * 7919) % n) - ((b * 7919) % n),
    );
    const done = new Set<number>();
    for (const x of order) {
      o.finish([x]);
      done.add(x);
      let first = 0;
      while (done.has(first)) first++;
      if (x % 97 === 0) expect(o.committable()).toBe(first);
    }
    expect(o.committable()).toBe(n);
  });
});
