/**
 * Every span logsplit records, by the name Jaeger shows. One record's journey:
 * splitter.batch → splitter.chunk → compressor.append (lock-wait, compress, write) ⇢ link ⇢
 * uploader.segment (upload, verify, index, delete). A compressor.append is a child of the first
 * chunk it appends and links to the others; an uploader.segment starts its own trace and links to
 * the compressor.append spans of the segment's blocks.
 */
export const SPANS = {
  splitterBatch: 'splitter.batch',
  splitterChunk: 'splitter.chunk',
  compressorAppend: 'compressor.append',
  compressorCompress: 'compressor.compress',
  compressorLockWait: 'compressor.lock-wait',
  compressorWrite: 'compressor.write',
  uploaderSeal: 'uploader.seal',
  uploaderSegment: 'uploader.segment',
  uploaderUpload: 'uploader.upload',
  uploaderVerify: 'uploader.verify',
  uploaderIndex: 'uploader.index',
  uploaderDelete: 'uploader.delete',
} as const;

/** Span attribute names (logsplit.* unless a semantic convention fits). */
export const ATTRS = {
  appId: 'app.id',
  records: 'logsplit.records',
  bytesIn: 'logsplit.bytes_in',
  bytesOut: 'logsplit.bytes_out',
  chunks: 'logsplit.chunks',
  deadRecords: 'logsplit.dead_records',
  segmentId: 'logsplit.segment_id',
  objectKey: 'logsplit.object_key',
  lockSlot: 'logsplit.lock.slot',
  lockWaitMs: 'logsplit.lock.wait_ms',
  sealed: 'logsplit.sealed_segments',
  topic: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  firstOffset: 'logsplit.first_offset',
  lastOffset: 'logsplit.last_offset',
} as const;

/** Links per span: OpenTelemetry's default link limit, so none is silently dropped. */
export const MAX_LINKS = 128;
