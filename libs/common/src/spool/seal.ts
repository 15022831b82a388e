import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { SegmentState } from './segment-files';
import { SEGMENT_FILES, SpoolLayout } from './spool-layout';

/**
 * Moves an open segment to sealed/ in one rename. The caller holds the slot's lease, so no
 * writer is appending; a torn tail was already cut by the writer's recovery or is cut here.
 */
export async function sealSegment(layout: SpoolLayout, segment: SegmentState): Promise<string> {
  await cutTornTails(segment);
  const target = layout.sealedDir(segment.meta.app, segment.meta.segmentId);
  await fs.mkdir(dirname(target), { recursive: true });
  await fs.rename(segment.dir, target);
  return target;
}

/** Cuts what a crashed writer left past the last confirmed block and manifest line. */
export async function cutTornTails(segment: SegmentState): Promise<void> {
  if (segment.dataBytes > segment.committedBytes) {
    await fs.truncate(segment.dataPath, segment.committedBytes);
  }
  if (segment.manifestBytes > segment.manifestValidBytes) {
    await fs.truncate(join(segment.dir, SEGMENT_FILES.manifest), segment.manifestValidBytes);
  }
}
