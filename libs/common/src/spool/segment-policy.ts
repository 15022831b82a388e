/**
 * The one owner of a segment's lifecycle. The compressor's writer asks it before and after each
 * append; the uploader's sweeper asks it for open segments no writer visits (an idle app). Both
 * hold the slot's lease when they act on the answer, so the two never decide differently.
 */
export type SegmentDecision = 'seal' | 'discard' | 'keep';

export interface SegmentLimits {
  maxBytes: number;
  maxAgeMs: number;
}

/** What the policy needs to know of an open segment. */
export interface SegmentFacts {
  /** meta.json's createdAt; for a slot directory without meta.json, the directory's mtime. */
  bornAt: number;
  /** Bytes of confirmed blocks (or an upper bound: the data file's size). */
  bytes: number;
  /** Confirmed blocks (manifest lines); a segment without any has nothing to seal. */
  blocks: number;
  /** Written with another codec than the writer's (the deployment switched codecs). */
  foreignCodec?: boolean;
}

/**
 * 'seal' once old or big enough, or of a foreign codec; 'discard' for a segment that never got a
 * confirmed block and is past its age (its writer died before the first manifest line, and no
 * write came to the slot since: nothing would ever seal it, and reusing it would put new records
 * under a long-past createdAt); 'keep' otherwise.
 */
export function decideSegment(
  facts: SegmentFacts,
  limits: SegmentLimits,
  now: number,
): SegmentDecision {
  const expired = now - facts.bornAt >= limits.maxAgeMs || facts.foreignCodec === true;
  if (facts.blocks === 0) return expired ? 'discard' : 'keep';
  return expired || facts.bytes >= limits.maxBytes ? 'seal' : 'keep';
}
