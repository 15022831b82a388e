import { Transform } from 'node:stream';

/**
 * A block codec whose outputs concatenate into one valid file: each `compress` result is a
 * complete gzip member or zstd frame, so appending them to a segment keeps it readable with
 * plain `zcat` / `zstd -dc`, and any one block can be fetched and decoded on its own.
 */
export interface Codec {
  readonly name: 'gzip' | 'zstd';
  /** File name extension of a segment, e.g. '.log.gz'. */
  readonly extension: string;
  readonly level: number;
  compress(data: Buffer): Promise<Buffer>;
  /** Decodes a whole file (all members/frames) as one stream. */
  createDecompressStream(): Transform;
}
