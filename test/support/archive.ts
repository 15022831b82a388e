import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { IndexEntry, parseIndexEntry } from '@logsplit/common/archive';

export type ArchivedIndexEntry = IndexEntry;

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/**
 * Every index entry in an fs-driver bucket, read straight from disk (not through the driver) and
 * checked as `logsplit logs` checks it (the app's own key, sound blocks).
 */
export function readIndexEntries(bucketRoot: string, prefix: string): ArchivedIndexEntry[] {
  const root = join(bucketRoot, prefix, '_index');
  return walk(root)
    .filter((p) => p.endsWith('.json'))
    .map((p) => {
      const app = relative(root, p).split(sep)[0];
      const key = relative(bucketRoot, p);
      // parseIndexEntry checks what a reader relies on; the other fields are as the uploader wrote them.
      return parseIndexEntry(readFileSync(p), key, prefix, app) as IndexEntry;
    });
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

/**
 * decodeWithCli for many files at once: one shell runs gzip / zstd on each in turn, so a large
 * bucket costs one process start per file in C rather than one per file in Node. Each file's
 * output is followed by a marker with the decoder's exit status; a file that fails is decoded
 * once more alone, so its Error carries the decoder's message.
 */
export function decodeManyWithCli(paths: string[]): Map<string, Buffer | Error> {
  const out = new Map<string, Buffer | Error>();
  const token = `\0decoded-${randomBytes(16).toString('hex')}:`;
  const script =
    'for f; do case "$f" in *.zst) zstd -dcq -- "$f" ;; *) gzip -dc -- "$f" ;; esac 2>/dev/null; ' +
    `printf '${token.replace('\0', '\\000')}%d\\000' "$?"; done`;
  for (let i = 0; i < paths.length; i += 200) {
    const batch = paths.slice(i, i + 200);
    const all = execFileSync('sh', ['-c', script, 'decode', ...batch], { maxBuffer: 1 << 30 });
    let pos = 0;
    for (const path of batch) {
      const at = all.indexOf(token, pos);
      const end = all.indexOf(0, at + token.length);
      if (at < 0 || end < 0) throw new Error(`decoder output lost its place at ${path}`);
      const status = Number(all.subarray(at + token.length, end).toString());
      out.set(path, status === 0 ? all.subarray(pos, at) : failure(path));
      pos = end + 1;
    }
  }
  return out;
}

function failure(path: string): Error {
  try {
    decodeWithCli(path);
    return new Error(`${path} failed to decode in a batch but decodes alone`);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
