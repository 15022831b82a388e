import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  dataFileName,
  decideSegment,
  isNotFound,
  SEGMENT_FILES,
  SegmentLimits,
  SegmentMeta,
} from '@logsplit/common';

/** What a pass learns of an open slot without reading its manifest. */
export interface OpenSlotProbe {
  /** From meta.json; undefined when there is none (the writer died before writing it). */
  createdAt?: number;
  /** Size of the data file, torn tail included; undefined when there is none. */
  dataBytes?: number;
  /** The slot directory's mtime, for a slot without meta.json. */
  dirMtimeMs?: number;
}

/**
 * meta.json and a stat of the data file: enough to rule out most slots every pass, where a full
 * readSegment parses the whole manifest of every app's open segment.
 */
export async function probeOpenSlot(dir: string): Promise<OpenSlotProbe> {
  let meta: SegmentMeta;
  try {
    meta = JSON.parse(await fs.readFile(join(dir, SEGMENT_FILES.meta), 'utf8')) as SegmentMeta;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return {
      dirMtimeMs: await fs.stat(dir).then(
        (s) => s.mtimeMs,
        () => undefined,
      ),
    };
  }
  const dataBytes = await fs.stat(join(dir, dataFileName(meta.extension))).then(
    (s) => s.size,
    (err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err as Error)),
  );
  return { createdAt: meta.createdAt, dataBytes };
}

/**
 * False only when the slot is certainly not due: the segment policy would keep it even if every
 * byte of its data file (which holds at least the committed bytes) were a confirmed block. True
 * asks for the full check under the slot's lease, which decides.
 */
export function mayBeDue(probe: OpenSlotProbe, now: number, limits: SegmentLimits): boolean {
  const bornAt = probe.createdAt ?? probe.dirMtimeMs;
  if (bornAt === undefined) return false; // the slot is gone
  return decideSegment({ bornAt, bytes: probe.dataBytes ?? 0, blocks: 1 }, limits, now) !== 'keep';
}
