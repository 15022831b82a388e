import { CodecName } from '../config';
import { SourceRange } from '../chunk';

/** One gzip member / zstd frame of an archived segment, decodable on its own. */
export interface IndexedBlockRange {
  offset: number;
  length: number;
  records: number;
  minTime: number;
  maxTime: number;
}

/**
 * What a reader needs to find and fetch one app's logs without listing or opening others':
 * one JSON object per archived segment, stored under the app's own index prefix. Written by the
 * uploader, read by `logsplit logs`.
 */
export interface IndexEntry {
  version: 1;
  app: string;
  segmentId: string;
  key: string;
  codec: CodecName;
  bytes: number;
  rawBytes: number;
  records: number;
  minTime: number;
  maxTime: number;
  md5: string;
  createdAt: number;
  uploadedAt: number;
  /** Source coordinates of the raw records, merged per partition. */
  sources: SourceRange[];
  /** Byte range of every block, for range reads of one block. */
  blocks: IndexedBlockRange[];
}
