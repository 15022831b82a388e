import { ManifestEntry } from '@logsplit/common';

/**
 * The compressor group's committed offset per (topic, partition): the next offset it will
 * consume. A partition without a commit is absent.
 */
export type CommittedOffsets = ReadonlyMap<string, number>;

export const partitionId = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** The first block that holds a by-app message the compressor has not committed yet. */
export interface UncommittedBlock {
  topic: string;
  partition: number;
  /** Highest input offset of the block. */
  offset: number;
  /** The group's committed offset there; undefined when it has none. */
  committed?: number;
}

/** The by-app topics a segment's blocks were read from. */
export function inputTopics(entries: readonly ManifestEntry[]): string[] {
  return [...new Set(entries.flatMap((e) => (e.input ? [e.input.topic] : [])))];
}

/**
 * A segment may leave the spool only once every by-app message it holds is below the
 * compressor's committed offset: after a compressor crash the replayed messages are checked
 * against the manifests still on the spool, so a segment uploaded and deleted while one of its
 * messages can still be replayed would let that message be appended, and archived, twice.
 * Blocks written before manifests carried their input have nothing to check.
 */
export function firstUncommittedBlock(
  entries: readonly ManifestEntry[],
  committed: CommittedOffsets,
): UncommittedBlock | undefined {
  for (const { input } of entries) {
    if (!input || input.offsets.length === 0) continue;
    const offset = Math.max(...input.offsets);
    const next = committed.get(partitionId(input.topic, input.partition));
    if (next === undefined || offset >= next) {
      return { topic: input.topic, partition: input.partition, offset, committed: next };
    }
  }
  return undefined;
}

export function describeUncommitted(b: UncommittedBlock, group: string): string {
  return (
    `holds ${b.topic}[${b.partition}] offset ${b.offset}, not yet committed by ${group} ` +
    `(committed: ${b.committed ?? 'none'})`
  );
}
