/**
 * Wire format of a chunk on the by-app topic: key = app id, value = the chunk's records, each
 * byte-exact and terminated by exactly one '\n' (added only where the record lacks it), so the
 * compressor can compress the value as it is. The headers say where the records came from.
 */
export const CHUNK_HEADERS = {
  app: 'logsplit-app',
  format: 'logsplit-format',
  records: 'logsplit-records',
  /** Topic of the raw records. */
  sourceTopic: 'logsplit-src-topic',
  sourcePartition: 'logsplit-src-partition',
  /** Offsets of the first and last raw record in the chunk ("first-last"). */
  sourceOffsets: 'logsplit-src-offsets',
  /** Smallest and largest Kafka timestamp (ms) of the chunk's records ("min-max"). */
  timeRange: 'logsplit-time-range',
} as const;

export const CHUNK_FORMAT = 'lines/v1';

/** Dead-letter records keep the original key, value and headers and add these. */
export const DLQ_HEADERS = {
  reason: 'logsplit-dlq-reason',
  detail: 'logsplit-dlq-detail',
  sourceTopic: 'logsplit-src-topic',
  sourcePartition: 'logsplit-src-partition',
  sourceOffset: 'logsplit-src-offset',
  /** Original size in bytes when the value was cut to fit the DLQ (it stays whole on the source). */
  truncated: 'logsplit-dlq-truncated',
  /** SHA-256 (hex) of the whole original value, set with `truncated`. */
  sha256: 'logsplit-dlq-sha256',
} as const;

export type DlqReason =
  | 'missing-app-id'
  | 'invalid-app-id'
  | 'invalid-json'
  | 'record-too-large'
  | 'empty-record'
  | 'invalid-chunk'
  /** Over the splitter's distinct-app limit (LOGSPLIT_MAX_APPS); replay once it has room. */
  | 'app-cardinality';
