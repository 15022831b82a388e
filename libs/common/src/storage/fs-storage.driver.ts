import { FileHandle, open, stat, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { fileChunks, READ_CHUNK_BYTES, readChunks } from './file-chunks';
import { DestinationExistsError, isTempName, Source, writeFileAtomically } from './fs-atomic-write';
import { listKeys } from './fs-list';
import { Md5Cache } from './fs-md5-cache';
import { chunksMd5 } from './md5';
import { readAll } from './read-all';
import {
  assertSafeKey,
  assertSafePrefix,
  assertValidRange,
  ByteRange,
  ChecksumMismatchError,
  InvalidRangeError,
  NotFoundError,
  ObjectExistsError,
  ObjectInfo,
  PutOptions,
  StorageDriver,
} from './storage-driver';

/**
 * A local folder as the bucket: the embedded default, and what NAS deployments use. Object key
 * 'a/b/c' is the file <root>/a/b/c. No sidecar files: the md5 is computed while writing and kept
 * in a cache keyed by file version, or recomputed by head() after a restart.
 */
export class FsStorageDriver implements StorageDriver {
  readonly name = 'fs';
  readonly root: string;
  private readonly md5s = new Md5Cache();

  constructor(root: string) {
    this.root = resolve(root);
  }

  async putFile(key: string, path: string, opts: PutOptions = {}): Promise<ObjectInfo> {
    const dest = this.pathOf(key);
    return this.write(key, dest, () => fileChunks(path), opts);
  }

  async putBuffer(key: string, body: Buffer, opts: PutOptions = {}): Promise<ObjectInfo> {
    return this.write(key, this.pathOf(key), () => [body], opts);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    const fh = await this.openObject(path);
    if (!fh) return undefined;
    try {
      // Stats and bytes come from one open file, so md5 and size describe the same version even
      // if a put renames a new file into place meanwhile.
      const stats = await fh.stat({ bigint: true });
      let md5 = this.md5s.get(path, stats);
      if (md5 === undefined) {
        md5 = (await chunksMd5(readChunks(fh, Number(stats.size)))).md5;
        this.md5s.set(path, stats, md5);
      }
      return { key, size: Number(stats.size), md5 };
    } finally {
      await fh.close();
    }
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    assertValidRange(key, range);
    const fh = await this.openObject(this.pathOf(key));
    if (!fh) throw new NotFoundError(key);
    try {
      const { size } = await fh.stat();
      // A read stream allocates its whole highWaterMark per read: sized to what is read.
      const highWaterMark = (bytes: number) => Math.min(READ_CHUNK_BYTES, Math.max(bytes, 1));
      if (!range) return fh.createReadStream({ highWaterMark: highWaterMark(size + 1) });
      if (range.start >= size) throw new InvalidRangeError(key, range, size);
      const end = Math.min(range.end, size - 1);
      return fh.createReadStream({
        start: range.start,
        end,
        highWaterMark: highWaterMark(end - range.start + 1),
      });
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async getBuffer(key: string, range?: ByteRange): Promise<Buffer> {
    return readAll(await this.getStream(key, range));
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertSafePrefix(prefix);
    yield* listKeys(this.root, prefix);
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    this.md5s.delete(path);
    try {
      await unlink(path);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  private async write(
    key: string,
    dest: string,
    source: Source,
    opts: PutOptions,
  ): Promise<ObjectInfo> {
    let written: { size: number; md5: string; ino: bigint };
    try {
      written = await writeFileAtomically(
        dest,
        source,
        (w) => {
          if (opts.md5 !== undefined && opts.md5 !== w.md5) {
            throw new ChecksumMismatchError(key, opts.md5, w.md5);
          }
        },
        opts.ifAbsent ? 'create' : 'replace',
      );
    } catch (err) {
      if (err instanceof DestinationExistsError) throw new ObjectExistsError(key);
      throw err;
    }
    const { size, md5, ino } = written;
    // Cache what we just hashed, unless another put already replaced it (then head recomputes).
    const stats = await stat(dest, { bigint: true }).catch(() => undefined);
    if (stats?.ino === ino) this.md5s.set(dest, stats, md5);
    return { key, size, md5 };
  }

  /** The file of a key, refusing any key whose path would leave the root or alias a temp file. */
  private pathOf(key: string): string {
    assertSafeKey(key);
    if (isTempName(key)) throw new Error(`unsafe object key (reserved temp-file suffix): ${key}`);
    const path = join(this.root, ...key.split('/'));
    const base = this.root.endsWith(sep) ? this.root : this.root + sep; // the root may be '/'
    if (!path.startsWith(base)) throw new Error(`object key escapes the store root: ${key}`);
    return path;
  }

  /** Opens an object's file for reading; undefined when there is none (or a directory is there). */
  private async openObject(path: string): Promise<FileHandle | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
      throw err;
    }
    if ((await fh.stat()).isFile()) return fh;
    await fh.close();
    return undefined;
  }
}

function isMissing(err: unknown): boolean {
  return ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');
}
