import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface ArchivedIndexEntry {
  app: string;
  segmentId: string;
  key: string;
  codec: string;
  bytes: number;
  records: number;
  createdAt: number;
  blocks: { offset: number; length: number; records: number }[];
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Every index entry in an fs-driver bucket, read straight from disk (not through the driver). */
export function readIndexEntries(bucketRoot: string, prefix: string): ArchivedIndexEntry[] {
  return walk(join(bucketRoot, prefix, '_index'))
    .filter((p) => p.endsWith('.json'))
    .map((p) => JSON.parse(readFileSync(p, 'utf8')) as ArchivedIndexEntry);
}

/** Every archived data object in the bucket (relative keys), index entries excluded. */
export function listDataObjects(bucketRoot: string, prefix: string): string[] {
  return walk(join(bucketRoot, prefix))
    .map((p) => relative(bucketRoot, p))
    .filter((k) => !k.startsWith(`${prefix}/_index/`) && /\.log\.(gz|zst)$/.test(k));
}

/**
 * Decodes a whole archived file with the system's gzip / zstd binaries: a decoder independent
 * of the code path that wrote it.
 */
export function decodeWithCli(path: string): Buffer {
  const args = path.endsWith('.zst') ? ['zstd', ['-dcq', path]] : ['gzip', ['-dc', path]];
  return execFileSync(args[0] as string, args[1] as string[], { maxBuffer: 1 << 30 });
}

/** Records of a decoded file: the writer ends every record with exactly one '\n'. */
export function splitRecords(decoded: Buffer): string[] {
  const text = decoded.toString('utf8');
  if (text === '') return [];
  if (!text.endsWith('\n')) throw new Error('archive does not end with a newline: torn write?');
  return text.slice(0, -1).split('\n');
}
