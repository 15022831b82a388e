import { CodecName } from '../config';
import { SourceRange } from '../chunk';

/** Written once when a segment is created; never changes afterwards. */
export interface SegmentMeta {
  segmentId: string;
  app: string;
  slot: number;
  codec: CodecName;
  extension: string;
  /** Epoch ms; decides the object key's dt=/hh= partition and the age-based seal. */
  createdAt: number;
  createdBy: string;
}

/** Where a block's chunks came from on the by-app topic: one partition, since apps are keys. */
export interface BlockInput {
  topic: string;
  partition: number;
  /** Kafka offsets of the chunks, ascending. */
  offsets: number[];
}

/** One line of a segment's manifest: one compressed block (gzip member or zstd frame). */
export interface ManifestEntry {
  /** Byte offset of the block in the segment's data file. */
  offset: number;
  length: number;
  records: number;
  rawBytes: number;
  minTime: number;
  maxTime: number;
  /** Epoch ms when the block became durable: produce-to-durable latency is appendedAt - record time. */
  appendedAt: number;
  sources: SourceRange[];
  /**
   * The by-app messages (chunks) whose records the block holds. A replayed batch skips the
   * chunks some manifest already holds, so a crash between append and offset commit does not
   * duplicate them. Absent in manifests written before exactly-once appends.
   */
  input?: BlockInput;
  /**
   * W3C traceparent of the compressor.append span that wrote the block (sampled spans only): the
   * uploader's span links to it. One per block, so the trace links a segment keeps are bounded
   * by its blocks.
   */
  trace?: string;
}
