import { createHash, randomBytes } from 'node:crypto';
import { FileHandle, link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Marks an in-flight put. list() skips such names and the fs driver refuses keys ending so. */
const TEMP_NAME = /\.logsplit-tmp-[0-9a-f]{16}$/;

export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** Opened only once the temp file is, so a failed mkdir or open leaks no read stream. */
export type Source = () => AsyncIterable<unknown> | Iterable<unknown>;

export interface WrittenFile {
  size: number;
  md5: string;
  /** Inode of the written file, to tell it from a file another put renamed over it later. */
  ino: bigint;
}

/** dest was there already and mode 'create' left it alone. */
export class DestinationExistsError extends Error {
  constructor(readonly dest: string) {
    super(`${dest} already exists`);
    this.name = 'DestinationExistsError';
  }
}

/**
 * Writes source to dest so that a reader sees no file or the whole file, even across a crash or
 * a power cut: temp file in dest's own directory (rename is atomic only within one filesystem),
 * fsync, rename, fsync of the directory so the rename itself is durable. The md5 is computed from
 * the bytes as they are written; `verify` sees it before the rename and may throw to abort, in
 * which case nothing replaces dest and the temp file is removed.
 *
 * Mode 'create' never replaces an existing dest (DestinationExistsError): link(2) fails with
 * EEXIST atomically, where rename(2) would silently replace.
 */
export async function writeFileAtomically(
  dest: string,
  source: Source,
  verify: (written: WrittenFile) => void = () => undefined,
  mode: 'replace' | 'create' = 'replace',
): Promise<WrittenFile> {
  const dir = dirname(dest);
  await makeDirDurable(dir);
  const tmp = join(dir, `.${basename(dest)}.logsplit-tmp-${randomBytes(8).toString('hex')}`);
  try {
    const written = await writeAndSync(tmp, source);
    verify(written);
    if (mode === 'create') {
      if ((await linkNoReplace(tmp, dest)) === 'linked') await unlink(tmp);
    } else {
      await rename(tmp, dest);
    }
    await fsyncDir(dir);
    return written;
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Filesystems without hard links (some SMB/FUSE mounts) say so with one of these. */
const NO_LINKS = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'];

async function linkNoReplace(tmp: string, dest: string): Promise<'linked' | 'renamed'> {
  try {
    await link(tmp, dest);
    return 'linked';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw new DestinationExistsError(dest);
    if (!NO_LINKS.includes(code)) throw err;
  }
  // Without link(2) the check and the rename are two steps. The uploader holds the segment's
  // upload lease, so no other writer of this key can come between them.
  const there = await lstat(dest).then(
    () => true,
    (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(e)),
  );
  if (there) throw new DestinationExistsError(dest);
  await rename(tmp, dest);
  return 'renamed';
}

async function writeAndSync(path: string, source: Source): Promise<WrittenFile> {
  const hash = createHash('md5');
  let size = 0;
  const fh = await open(path, 'wx', 0o644);
  try {
    for await (const chunk of source()) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      hash.update(buf);
      await writeAll(fh, buf);
      size += buf.length;
    }
    await fh.sync();
    return { size, md5: hash.digest('hex'), ino: (await fh.stat({ bigint: true })).ino };
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length;) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/** mkdir -p, then fsync each new directory and the parent of the first, so the path survives. */
async function makeDirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  const created: string[] = [];
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    created.push(d);
    if (d === first) break;
  }
  for (const d of [dirname(first), ...created.reverse()]) await fsyncDir(d);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some platforms (Windows, a few network filesystems) cannot fsync a directory at all.
    if (
      !['EISDIR', 'EINVAL', 'EPERM', 'ENOTSUP'].includes((err as NodeJS.ErrnoException).code ?? '')
    ) {
      throw err;
    }
  } finally {
    await fh.close();
  }
}
