/**
 * Produce requests (v3-v7, uncompressed) encoded in one pass into one exactly sized buffer.
 *
 * kafkajs 2.2.4 encodes every record through a chain of growable `Encoder`s: a zero-filled
 * 512-byte buffer per record and per header, a `Buffer.from([...])` per varint, and the payload
 * copied again at every level (record, batch, partition, topic, request, frame), each level
 * growing by doubling. That was the largest cost of the splitter (a fifth of its CPU, plus the
 * garbage it made). The bytes written here are the same as kafkajs' (produce-encoder.spec.ts
 * compares them on many messages); anything this encoder does not handle exactly like kafkajs
 * (compression, explicit timestamps, keys, values or header values that are not strings or
 * Buffers) is passed to kafkajs' own encoder unchanged.
 */

/** kafkajs' Encoder: an output buffer and how much of it is written. */
export interface KafkaEncoder {
  buf: Buffer;
  offset: number;
}

type Bytes = string | Buffer;
type HeaderValue = Bytes | Bytes[];

export interface ProduceMessage {
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
  timestamp?: unknown;
}

export interface ProducePartitionData {
  partition: number;
  firstSequence?: number;
  messages: ProduceMessage[];
}

export interface ProduceRequestArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: ProducePartitionData[] }[];
}

export interface ProduceRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse: () => boolean;
  encode: () => Promise<KafkaEncoder>;
}

/** The kafkajs internals this module stands in for or builds on. */
export interface KafkajsInternals {
  Encoder: new (initialSize?: number) => KafkaEncoder;
  Long: { fromValue(v: unknown): { getHighBits(): number; getLowBits(): number } };
  crc32C: (b: Buffer) => number;
  produceApiKey: number;
  /** kafkajs' own v3 produce request, for what the fast path does not take. */
  produceV3: (args: ProduceRequestArgs) => ProduceRequest;
}

const TRANSACTIONAL_ATTRIBUTE = 16;
const MAGIC_BYTE = 2;
/** Batch header bytes covered by the CRC, before the records: attributes … record count. */
const BATCH_BODY_HEADER = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** firstOffset, batch length, partitionLeaderEpoch, magic, crc. */
const BATCH_PREFIX = 8 + 4 + 4 + 1 + 4;

/** Bytes of a zigzag varint, as kafkajs' Encoder.sizeOfVarInt (32-bit). */
function varIntSize(value: number): number {
  let v = (value << 1) ^ (value >> 31);
  let n = 1;
  while ((v & 0xffffff80) !== 0) {
    n++;
    v >>>= 7;
  }
  return n;
}

function writeVarInt(buf: Buffer, pos: number, value: number): number {
  let v = (value << 1) ^ (value >> 31);
  while ((v & 0xffffff80) !== 0) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v & 0x7f;
  return pos;
}

const isBytes = (v: unknown): v is Bytes => typeof v === 'string' || Buffer.isBuffer(v);

/** Length kafkajs' varint-bytes field carries: -1 for null/undefined. */
const bytesLength = (v: Bytes | null | undefined): number =>
  v == null ? -1 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;

const fieldSize = (len: number): number => varIntSize(len) + Math.max(len, 0);

function writeBytes(buf: Buffer, pos: number, v: Bytes | null | undefined, len: number): number {
  pos = writeVarInt(buf, pos, len);
  if (len <= 0) return pos;
  if (typeof v === 'string') buf.write(v, pos, len, 'utf8');
  else (v as Buffer).copy(buf, pos);
  return pos + len;
}

/** One record's fields, measured once; the header list flattened as kafkajs flattens it. */
interface Sized {
  key: Bytes | null | undefined;
  keyLen: number;
  value: Bytes | null | undefined;
  valueLen: number;
  headers: [string, number, Bytes, number][];
  body: number;
}

/** Whether kafkajs' path would encode this message exactly as this module does. */
function simple(m: ProduceMessage): boolean {
  if (m.timestamp != null) return false;
  if (m.key != null && !isBytes(m.key)) return false;
  if (m.value != null && !isBytes(m.value)) return false;
  // kafkajs defaults absent headers to {} but throws on null ones: left to it.
  if (m.headers === undefined) return true;
  if (typeof m.headers !== 'object' || m.headers === null) return false;
  for (const k of Object.keys(m.headers)) {
    const v = m.headers[k] as HeaderValue;
    if (Array.isArray(v) ? !v.every(isBytes) : !isBytes(v)) return false;
  }
  return true;
}

function sizeRecord(m: ProduceMessage, offsetDelta: number): Sized {
  const key = m.key as Bytes | null | undefined;
  const value = m.value as Bytes | null | undefined;
  const keyLen = bytesLength(key);
  const valueLen = bytesLength(value);
  const headers: Sized['headers'] = [];
  let headerBytes = 0;
  const h = (m.headers ?? {}) as Record<string, HeaderValue>;
  for (const name of Object.keys(h)) {
    const v = h[name];
    for (const one of Array.isArray(v) ? v : [v]) {
      const nameLen = Buffer.byteLength(name);
      const len = bytesLength(one);
      headers.push([name, nameLen, one, len]);
      headerBytes += fieldSize(nameLen) + fieldSize(len);
    }
  }
  // attributes, timestampDelta 0 (one varlong byte), offsetDelta, key, value, headers
  const body =
    1 +
    1 +
    varIntSize(offsetDelta) +
    fieldSize(keyLen) +
    fieldSize(valueLen) +
    varIntSize(headers.length) +
    headerBytes;
  return { key, keyLen, value, valueLen, headers, body };
}

function writeRecord(buf: Buffer, pos: number, r: Sized, offsetDelta: number): number {
  pos = writeVarInt(buf, pos, r.body);
  buf[pos++] = 0; // attributes
  buf[pos++] = 0; // timestampDelta: every record is stamped with the batch's time
  pos = writeVarInt(buf, pos, offsetDelta);
  pos = writeBytes(buf, pos, r.key, r.keyLen);
  pos = writeBytes(buf, pos, r.value, r.valueLen);
  pos = writeVarInt(buf, pos, r.headers.length);
  for (const [name, nameLen, value, len] of r.headers) {
    pos = writeBytes(buf, pos, name, nameLen);
    pos = writeBytes(buf, pos, value, len);
  }
  return pos;
}

const stringSize = (s: string | null | undefined): number =>
  s == null ? 2 : 2 + Buffer.byteLength(s);

function writeString(buf: Buffer, pos: number, s: string | null | undefined): number {
  if (s == null) return buf.writeInt16BE(-1, pos);
  const len = Buffer.byteLength(s);
  pos = buf.writeInt16BE(len, pos);
  return pos + buf.write(s, pos, len, 'utf8');
}

function writeInt64(buf: Buffer, pos: number, v: unknown, I: KafkajsInternals): number {
  const long = I.Long.fromValue(v);
  pos = buf.writeInt32BE(long.getHighBits(), pos);
  return buf.writeInt32BE(long.getLowBits(), pos);
}

/** Encodes a produce request like kafkajs' v3 encoder (which v4-v7 reuse), in one buffer. */
export function encodeProduceRequest(args: ProduceRequestArgs, I: KafkajsInternals): KafkaEncoder {
  const { transactionalId = null, producerEpoch = 0 } = args;
  const producerId = args.producerId === undefined ? -1 : args.producerId;
  const attributes = transactionalId ? TRANSACTIONAL_ATTRIBUTE : 0;
  const topics = args.topicData.map(({ topic, partitions }) => ({
    topic,
    partitions: partitions.map((p) => {
      const records = p.messages.map((m, i) => sizeRecord(m, i));
      let recordBytes = 0;
      for (const r of records) recordBytes += varIntSize(r.body) + r.body;
      return { p, records, batchBytes: BATCH_PREFIX + BATCH_BODY_HEADER + recordBytes };
    }),
  }));
  let size = stringSize(transactionalId) + 2 + 4 + 4;
  for (const t of topics) {
    size += stringSize(t.topic) + 4;
    for (const p of t.partitions) size += 4 + 4 + p.batchBytes;
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = writeString(buf, 0, transactionalId);
  pos = buf.writeInt16BE(args.acks, pos);
  pos = buf.writeInt32BE(args.timeout, pos);
  pos = buf.writeInt32BE(topics.length, pos);
  for (const t of topics) {
    pos = writeString(buf, pos, t.topic);
    pos = buf.writeInt32BE(t.partitions.length, pos);
    for (const { p, records, batchBytes } of t.partitions) {
      const now = Date.now();
      pos = buf.writeInt32BE(p.partition, pos);
      pos = buf.writeInt32BE(batchBytes, pos);
      pos = writeInt64(buf, pos, 0, I); // firstOffset
      pos = buf.writeInt32BE(batchBytes - 12, pos); // what follows this length
      pos = buf.writeInt32BE(0, pos); // partitionLeaderEpoch
      pos = buf.writeInt8(MAGIC_BYTE, pos);
      const crcAt = pos;
      const bodyAt = pos + 4;
      pos = buf.writeInt16BE(attributes, bodyAt);
      pos = buf.writeInt32BE(records.length - 1, pos);
      pos = writeInt64(buf, pos, now, I);
      pos = writeInt64(buf, pos, now, I);
      pos = writeInt64(buf, pos, producerId, I);
      pos = buf.writeInt16BE(producerEpoch, pos);
      pos = buf.writeInt32BE(p.firstSequence === undefined ? 0 : p.firstSequence, pos);
      pos = buf.writeInt32BE(records.length, pos);
      for (let i = 0; i < records.length; i++) pos = writeRecord(buf, pos, records[i], i);
      buf.writeUInt32BE(I.crc32C(buf.subarray(bodyAt, pos)), crcAt);
    }
  }
  if (pos !== size) throw new Error(`produce request: wrote ${pos} of ${size} bytes`);
  return asEncoder(buf, I);
}

/** A kafkajs Encoder holding `buf` whole, so kafkajs' writeEncoder and size() take it as theirs. */
function asEncoder(buf: Buffer, I: KafkajsInternals): KafkaEncoder {
  const e = new I.Encoder(0);
  e.buf = buf;
  e.offset = buf.length;
  return e;
}

/** kafkajs' v3 produce request, with the fast encoder wherever it gives the same bytes. */
export function produceRequestV3(I: KafkajsInternals) {
  return (args: ProduceRequestArgs): ProduceRequest => {
    const fast =
      (args.compression === undefined || args.compression === 0) &&
      args.topicData.every((t) => t.partitions.every((p) => p.messages.every(simple)));
    if (!fast) return I.produceV3(args);
    return {
      apiKey: I.produceApiKey,
      apiVersion: 3,
      apiName: 'Produce',
      expectResponse: () => args.acks !== 0,
      encode: () => Promise.resolve(encodeProduceRequest(args, I)),
    };
  };
}

interface FramedRequest {
  correlationId: number;
  clientId: string;
  request: { apiKey: number; apiVersion: number; encode: () => Promise<KafkaEncoder> };
}

/** kafkajs' request framing (size, api key and version, correlation and client id) with one copy. */
export function frameRequest(I: KafkajsInternals) {
  return async ({ correlationId, clientId, request }: FramedRequest): Promise<KafkaEncoder> => {
    const payload = await request.encode();
    const body = payload.buf.subarray(0, payload.offset);
    const headerBytes = 2 + 2 + 4 + stringSize(clientId);
    const buf = Buffer.allocUnsafe(4 + headerBytes + body.length);
    let pos = buf.writeInt32BE(headerBytes + body.length, 0);
    pos = buf.writeInt16BE(request.apiKey, pos);
    pos = buf.writeInt16BE(request.apiVersion, pos);
    pos = buf.writeInt32BE(correlationId, pos);
    pos = writeString(buf, pos, clientId);
    body.copy(buf, pos);
    return asEncoder(buf, I);
  };
}

interface GroupArgs<M> {
  topic: string;
  partitionMetadata: unknown[];
  messages: M[];
  partitioner: (a: { topic: string; partitionMetadata: unknown[]; message: M }) => number;
}

/**
 * kafkajs' groupMessagesPerPartition in linear time: kafkajs copies a partition's whole array for
 * every message it adds (quadratic in the messages of a send). Same partitioner calls, same order.
 */
export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs<M>): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}
