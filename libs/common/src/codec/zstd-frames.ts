import { Transform, TransformCallback } from 'node:stream';
import { zstdDecompressSync } from 'node:zlib';

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/**
 * Length in bytes of the zstd frame (RFC 8878 §3.1) starting at `at`, or undefined when `buf` does
 * not hold all of it yet. Walking block headers is cheap: no decompression happens here.
 */
export function zstdFrameLength(buf: Buffer, at: number): number | undefined {
  if (buf.length - at < 8) return undefined;
  const magic = buf.readUInt32LE(at);
  if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
    const size = 8 + buf.readUInt32LE(at + 4);
    return buf.length - at >= size ? size : undefined;
  }
  if (magic !== ZSTD_MAGIC) throw new Error(`not a zstd frame at byte ${at}`);
  const fhd = buf[at + 4];
  const singleSegment = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag];
  const didBytes = [0, 1, 2, 4][fhd & 3];
  const checksumBytes = (fhd >> 2) & 1 ? 4 : 0;
  let pos = at + 5 + (singleSegment ? 0 : 1) + didBytes + fcsBytes;
  for (;;) {
    if (buf.length - pos < 3) return undefined;
    const header = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw new Error(`corrupt zstd block header at byte ${pos}`);
    pos += 3 + (type === 1 ? 1 : size);
    if (last) break;
  }
  pos += checksumBytes;
  return pos <= buf.length ? pos - at : undefined;
}

/**
 * Decodes a stream of concatenated zstd frames. node:zlib's zstd decompressor stops after the
 * first frame, but a segment is one frame per block, so frames are cut out and decoded one by one.
 * Memory stays bounded by one frame (one block of at most LOGSPLIT_MAX_MEMBER_BYTES).
 */
export class ZstdFramesDecoder extends Transform {
  private pending: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    try {
      this.drain();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.pending.length > 0) {
      done(new Error(`zstd stream ends inside a frame (${this.pending.length} bytes left)`));
      return;
    }
    done();
  }

  private drain(): void {
    let at = 0;
    for (;;) {
      const len = zstdFrameLength(this.pending, at);
      if (len === undefined) break;
      const frame = this.pending.subarray(at, at + len);
      if ((frame.readUInt32LE(0) & SKIPPABLE_MASK) >>> 0 !== SKIPPABLE_MAGIC) {
        this.push(zstdDecompressSync(frame));
      }
      at += len;
    }
    this.pending = this.pending.subarray(at);
  }
}
