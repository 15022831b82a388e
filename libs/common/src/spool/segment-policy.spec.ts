import { decideSegment } from './segment-policy';

const LIMITS = { maxBytes: 100, maxAgeMs: 1000 };

describe('decideSegment', () => {
  it('keeps a young segment below the size', () => {
    expect(decideSegment({ bornAt: 500, bytes: 99, blocks: 3 }, LIMITS, 1000)).toBe('keep');
  });

  it('seals at the size or at the age, whichever comes first', () => {
    expect(decideSegment({ bornAt: 900, bytes: 100, blocks: 1 }, LIMITS, 1000)).toBe('seal');
    expect(decideSegment({ bornAt: 0, bytes: 1, blocks: 1 }, LIMITS, 1000)).toBe('seal');
  });

  it('seals a segment of another codec whatever its age', () => {
    const facts = { bornAt: 999, bytes: 1, blocks: 1, foreignCodec: true };
    expect(decideSegment(facts, LIMITS, 1000)).toBe('seal');
  });

  it('discards a segment without confirmed blocks only once past the age', () => {
    expect(decideSegment({ bornAt: 1, bytes: 0, blocks: 0 }, LIMITS, 1000)).toBe('keep');
    expect(decideSegment({ bornAt: 0, bytes: 0, blocks: 0 }, LIMITS, 1000)).toBe('discard');
    // Bytes without a manifest line are a torn tail, not a block: nothing to seal.
    expect(decideSegment({ bornAt: 0, bytes: 500, blocks: 0 }, LIMITS, 1000)).toBe('discard');
  });
});
