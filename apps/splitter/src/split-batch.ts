import { createHash } from 'node:crypto';
import { DLQ_HEADERS, encodeChunkHeaders, type DlqReason } from '@logsplit/common/chunk';
import { TOPIC_MAX_MESSAGE_BYTES } from '@logsplit/common/kafka';
import {
  validateAppId,
  type AppIdExtractor,
  type Rejection,
  type RawHeaders,
  type RawRecord,
} from './app-id';
import type { AppAdmission } from './app-admission';
import { headerBytes, messageBytes } from './bounded-sends';

export interface SplitInput {
  topic: string;
  partition: number;
  records: RawRecord[];
}

export interface SplitOptions {
  extractor: AppIdExtractor;
  /** Operator's app id pattern (config.splitter.appId.pattern); the safety floor applies anyway. */
  pattern: string;
  maxRecordBytes: number;
  /** Bound on a chunk's payload; must exceed maxRecordBytes so every accepted record fits. */
  maxChunkBytes: number;
  /** Cardinality guard; records of ids it refuses go to the DLQ as app-cardinality. */
  admission?: AppAdmission;
}

/** One by-app message (kafkajs Message shape) plus what the service counts. */
export interface OutChunk {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  app: string;
  records: number;
}

/**
 * One dead-letter message: the original key, value and headers plus the DLQ headers. No timestamp,
 * so the broker stamps it now and time-based retention does not expire replayed old records early.
 */
export interface DeadRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: RawHeaders;
  reason: DlqReason;
  detail: string;
  offset: string;
}

export interface SplitResult {
  chunks: OutChunk[];
  dead: DeadRecord[];
}

interface Accepted {
  record: RawRecord;
  value: Buffer;
}

const NEWLINE = Buffer.from('\n');
const NL = 0x0a;

/**
 * raw batch → per-app chunks + dead records. Deterministic: apps in order of first appearance,
 * records in offset order within an app, so a replayed batch yields the same chunks. The only
 * state is the optional admission guard, which sees apps in that same order.
 */
export function splitBatch(input: SplitInput, opts: SplitOptions): SplitResult {
  // A line is at most maxRecordBytes + 1 bytes; the config guarantees this, a caller might not.
  if (!(opts.maxChunkBytes > opts.maxRecordBytes)) {
    throw new RangeError(
      `maxChunkBytes (${opts.maxChunkBytes}) must exceed maxRecordBytes (${opts.maxRecordBytes})`,
    );
  }
  const byApp = new Map<string, Accepted[]>();
  const dead: DeadRecord[] = [];
  for (const record of input.records) {
    const verdict = judge(record, opts);
    if (!verdict.ok) {
      dead.push(toDead(input, record, verdict.reason, verdict.detail));
      continue;
    }
    const accepted = { record, value: verdict.value };
    const list = byApp.get(verdict.id);
    if (list) list.push(accepted);
    else byApp.set(verdict.id, [accepted]);
  }
  const chunks: OutChunk[] = [];
  for (const [app, accepted] of byApp) {
    if (opts.admission && !opts.admission.admit(app, accepted.length)) {
      const detail = `${opts.admission.refusalDetail()}: "${app}"`;
      for (const a of accepted) dead.push(toDead(input, a.record, 'app-cardinality', detail));
      continue;
    }
    packApp(input, app, accepted, opts.maxChunkBytes, chunks);
  }
  return { chunks, dead };
}

function judge(
  record: RawRecord,
  opts: SplitOptions,
): Rejection | { ok: true; id: string; value: Buffer } {
  const value = record.value;
  if (!value || value.length === 0) {
    return {
      ok: false,
      reason: 'empty-record',
      detail: value ? 'value is empty' : 'value is null',
    };
  }
  // Before extraction: never parse or regex-scan an oversized value.
  if (value.length > opts.maxRecordBytes) {
    return {
      ok: false,
      reason: 'record-too-large',
      detail: `${value.length} bytes > ${opts.maxRecordBytes}`,
    };
  }
  // Only blanks and line ends: it would archive as an empty line that carries nothing.
  if (isBlank(value)) {
    return {
      ok: false,
      reason: 'empty-record',
      detail: `value is only whitespace (${value.length} bytes)`,
    };
  }
  const found = opts.extractor.extract(record);
  const valid = found.ok ? validateAppId(found.id, opts.pattern) : found;
  return valid.ok ? { ok: true, id: valid.id, value } : valid;
}

/** Space, tab, CR, LF, VT, FF only; stops at the first other byte, so a normal record costs one. */
function isBlank(v: Buffer): boolean {
  for (const b of v) if (b !== 0x20 && (b < 0x09 || b > 0x0d)) return false;
  return true;
}

const lineBytes = (v: Buffer): number => v.length + (v[v.length - 1] === NL ? 0 : 1);

/** Greedy packing in record order: a chunk closes when the next line would cross the bound. */
function packApp(
  src: SplitInput,
  app: string,
  accepted: Accepted[],
  max: number,
  out: OutChunk[],
): void {
  let start = 0;
  let size = 0;
  accepted.forEach((a, i) => {
    const n = lineBytes(a.value);
    if (i > start && size + n > max) {
      out.push(buildChunk(src, app, accepted.slice(start, i), size));
      start = i;
      size = 0;
    }
    size += n;
  });
  if (accepted.length > start) out.push(buildChunk(src, app, accepted.slice(start), size));
}

function buildChunk(src: SplitInput, app: string, part: Accepted[], size: number): OutChunk {
  const buffers: Buffer[] = [];
  let minTime = Infinity;
  let maxTime = -Infinity;
  for (const { record, value } of part) {
    buffers.push(value);
    if (value[value.length - 1] !== NL) buffers.push(NEWLINE);
    const t = timeOf(record);
    if (t < minTime) minTime = t;
    if (t > maxTime) maxTime = t;
  }
  const headers = encodeChunkHeaders({
    app,
    records: part.length,
    source: {
      topic: src.topic,
      partition: src.partition,
      firstOffset: part[0].record.offset,
      lastOffset: part[part.length - 1].record.offset,
    },
    minTime,
    maxTime,
  });
  return { key: app, value: Buffer.concat(buffers, size), headers, app, records: part.length };
}

/**
 * Kafka's "no timestamp" is -1, and a negative number would break the "min-max" header. 0 widens
 * the chunk's time range instead of narrowing it, so a time-bounded read never misses a record.
 */
function timeOf(record: RawRecord): number {
  const t = Number(record.timestamp);
  return Number.isFinite(t) && t >= 0 ? Math.trunc(t) : 0;
}

/**
 * Largest record (key, value and headers) the DLQ carries whole, with room for the DLQ headers
 * and batch framing under the topic's max.message.bytes. A larger record can only have reached
 * the raw topic compressed by its producer; sent on uncompressed it would be refused by the
 * broker on every retry and stall the partition, so the DLQ gets its head instead (the source
 * coordinates point at the whole record).
 */
export const DLQ_MAX_VALUE_BYTES = TOPIC_MAX_MESSAGE_BYTES - 512 * 1024;
/** How much of the key and value of a record over DLQ_MAX_VALUE_BYTES the DLQ keeps. */
export const DLQ_TRUNCATED_HEAD_BYTES = 64 * 1024;

function toDead(src: SplitInput, record: RawRecord, reason: DlqReason, detail: string): DeadRecord {
  const headers: RawHeaders = {};
  // kafkajs cannot encode an undefined header value; the type allows one.
  for (const [k, v] of Object.entries(record.headers ?? {})) if (v !== undefined) headers[k] = v;
  headers[DLQ_HEADERS.reason] = reason;
  headers[DLQ_HEADERS.detail] = detail;
  headers[DLQ_HEADERS.sourceTopic] = src.topic;
  headers[DLQ_HEADERS.sourcePartition] = String(src.partition);
  headers[DLQ_HEADERS.sourceOffset] = record.offset;
  if (messageBytes(record) <= DLQ_MAX_VALUE_BYTES) {
    return { key: record.key, value: record.value, headers, reason, detail, offset: record.offset };
  }
  // Too large for the DLQ: heads of key and value; the original headers only if they are small.
  const value = record.value ?? Buffer.alloc(0);
  const small: RawHeaders = headerBytes(record.headers) <= DLQ_TRUNCATED_HEAD_BYTES ? headers : {};
  for (const name of Object.values(DLQ_HEADERS)) if (headers[name]) small[name] = headers[name];
  small[DLQ_HEADERS.truncated] = String(value.length);
  small[DLQ_HEADERS.sha256] = createHash('sha256').update(value).digest('hex');
  return {
    key: record.key?.subarray(0, DLQ_TRUNCATED_HEAD_BYTES) ?? null,
    value: value.subarray(0, DLQ_TRUNCATED_HEAD_BYTES),
    headers: small,
    reason,
    detail,
    offset: record.offset,
  };
}
