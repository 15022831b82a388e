import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ManifestEntry, SegmentMeta } from './segment-meta';
import { dataFileName, SEGMENT_FILES } from './spool-layout';

/** Reading a segment directory: the same code for the writer's recovery and the uploader. */
export interface SegmentState {
  dir: string;
  meta: SegmentMeta;
  entries: ManifestEntry[];
  dataPath: string;
  /** Bytes covered by confirmed manifest entries: the segment's valid length. */
  committedBytes: number;
  /** Actual size of the data file; more than committedBytes means a torn tail. */
  dataBytes: number;
  /** Bytes of the manifest up to its last complete line, and its actual size. */
  manifestValidBytes: number;
  manifestBytes: number;
}

export async function readSegment(dir: string): Promise<SegmentState | undefined> {
  let meta: SegmentMeta;
  try {
    meta = JSON.parse(await fs.readFile(join(dir, SEGMENT_FILES.meta), 'utf8')) as SegmentMeta;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const manifest = await readManifest(join(dir, SEGMENT_FILES.manifest));
  const entries = manifest.entries;
  const dataPath = join(dir, dataFileName(meta.extension));
  const dataBytes = await fs.stat(dataPath).then(
    (s) => s.size,
    (err: unknown) => {
      if (isNotFound(err)) return 0;
      throw err;
    },
  );
  const last = entries[entries.length - 1];
  const committedBytes = last ? last.offset + last.length : 0;
  if (dataBytes < committedBytes) {
    throw new Error(
      `segment ${dir} is damaged: manifest covers ${committedBytes} bytes but data has ${dataBytes}`,
    );
  }
  return {
    dir,
    meta,
    entries,
    dataPath,
    committedBytes,
    dataBytes,
    manifestValidBytes: manifest.validBytes,
    manifestBytes: manifest.bytes,
  };
}

/**
 * A manifest line is written after its block is durable, so every complete line is true. A
 * crash can leave a partial last line (no '\n' yet): it is not counted, and its block is then a
 * torn tail that the next writer cuts off together with the partial line.
 */
async function readManifest(
  path: string,
): Promise<{ entries: ManifestEntry[]; validBytes: number; bytes: number }> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(path);
  } catch (err) {
    if (isNotFound(err)) return { entries: [], validBytes: 0, bytes: 0 };
    throw err;
  }
  const validBytes = buf.lastIndexOf(0x0a) + 1;
  const entries: ManifestEntry[] = [];
  let expectedOffset = 0;
  for (const line of buf.subarray(0, validBytes).toString('utf8').split('\n')) {
    if (line === '') continue;
    const entry = JSON.parse(line) as ManifestEntry;
    if (entry.offset !== expectedOffset) {
      throw new Error(`manifest ${path} is damaged at offset ${entry.offset}`);
    }
    entries.push(entry);
    expectedOffset = entry.offset + entry.length;
  }
  return { entries, validBytes, bytes: buf.length };
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Names of the subdirectories of dir, or none when dir does not exist. */
export async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}
