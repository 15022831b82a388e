import { promisify } from 'node:util';
import { constants, zstdCompress } from 'node:zlib';
import { Codec } from './codec';
import { ZstdFramesDecoder } from './zstd-frames';

const zstdAsync = promisify(zstdCompress);

/** zstd from node:zlib (Node >= 22.15), so no native addon or CLI is needed. */
export class ZstdCodec implements Codec {
  readonly name = 'zstd';
  readonly extension = '.log.zst';
  constructor(readonly level = 3) {}

  compress(data: Buffer): Promise<Buffer> {
    return zstdAsync(data, {
      params: {
        [constants.ZSTD_c_compressionLevel]: this.level,
        // The content size in the frame header lets a reader size its buffer for one block.
        [constants.ZSTD_c_contentSizeFlag]: 1,
        [constants.ZSTD_c_checksumFlag]: 1,
      },
      pledgedSrcSize: data.length,
    });
  }

  createDecompressStream() {
    return new ZstdFramesDecoder();
  }
}
