import { FileHandle, open } from 'node:fs/promises';

/** Large reads for 64 MiB segments; the default 64 KiB means a thousand round trips per file. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * The bytes of an open file from its current position, in chunks sized to what is left of it
 * (at most READ_CHUNK_BYTES). A read stream allocates a whole highWaterMark per read, EOF read
 * included: 2 MiB of garbage for a 600-byte segment, and most of the uploader's CPU went to
 * collecting it. Reads until EOF, so bytes appended after the stat are not missed.
 */
export async function* readChunks(fh: FileHandle, sizeHint: number): AsyncGenerator<Buffer> {
  let left = sizeHint;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, Math.max(left, 1)));
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) return;
    left -= bytesRead;
    yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
  }
}

/** readChunks of the file at path; the file is closed when the iteration ends. */
export async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    yield* readChunks(fh, (await fh.stat()).size);
  } finally {
    await fh.close();
  }
}
