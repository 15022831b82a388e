import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import { Codec } from './codec';

const gzipAsync = promisify(gzip);

export class GzipCodec implements Codec {
  readonly name = 'gzip';
  readonly extension = '.log.gz';
  constructor(readonly level = 6) {}

  compress(data: Buffer): Promise<Buffer> {
    return gzipAsync(data, { level: this.level });
  }

  // Gunzip reads every member of a multi-member file, as RFC 1952 allows.
  createDecompressStream() {
    return createGunzip();
  }
}
