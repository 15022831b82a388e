import { PartitionAssignment } from './partition-assignment';

describe('PartitionAssignment', () => {
  it('tells listeners what was owned before and after each join, and bumps the epoch', () => {
    const a = new PartitionAssignment();
    const seen: [Record<string, number[]>, Record<string, number[]>][] = [];
    const off = a.onChange((now, before) => seen.push([now, before]));
    a.update({ t: [0, 1] });
    a.update({ t: [1] });
    expect(a.epoch).toBe(2);
    expect(a.owns('t', 1)).toBe(true);
    expect(a.owns('t', 0)).toBe(false);
    expect(seen).toEqual([
      [{ t: [0, 1] }, {}],
      [{ t: [1] }, { t: [0, 1] }],
    ]);
    off();
    a.update({});
    expect(seen).toHaveLength(2);
    expect(a.owns('t', 1)).toBe(false);
  });
});
