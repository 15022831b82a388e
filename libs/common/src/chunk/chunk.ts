import { CHUNK_FORMAT, CHUNK_HEADERS } from './chunk-headers';

export interface SourceRange {
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
}

/** A chunk as the compressor sees it, decoded from a by-app message. */
export interface Chunk {
  app: string;
  records: number;
  source: SourceRange;
  minTime: number;
  maxTime: number;
  /** The records, each terminated by '\n'. */
  payload: Buffer;
}

type Headers = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export function encodeChunkHeaders(c: Omit<Chunk, 'payload'>): Record<string, string> {
  return {
    [CHUNK_HEADERS.app]: c.app,
    [CHUNK_HEADERS.format]: CHUNK_FORMAT,
    [CHUNK_HEADERS.records]: String(c.records),
    [CHUNK_HEADERS.sourceTopic]: c.source.topic,
    [CHUNK_HEADERS.sourcePartition]: String(c.source.partition),
    [CHUNK_HEADERS.sourceOffsets]: `${c.source.firstOffset}-${c.source.lastOffset}`,
    [CHUNK_HEADERS.timeRange]: `${c.minTime}-${c.maxTime}`,
  };
}

export function headerString(headers: Headers | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : one.toString('utf8');
}

/** Decodes a by-app message; throws with the reason when it is not a logsplit chunk. */
export function decodeChunk(value: Buffer | null, headers: Headers | undefined): Chunk {
  const h = (name: string): string => {
    const s = headerString(headers, name);
    if (s === undefined) throw new Error(`chunk lacks header ${name}`);
    return s;
  };
  const format = h(CHUNK_HEADERS.format);
  if (format !== CHUNK_FORMAT) throw new Error(`unknown chunk format ${format}`);
  const [firstOffset, lastOffset] = h(CHUNK_HEADERS.sourceOffsets).split('-');
  const [minTime, maxTime] = h(CHUNK_HEADERS.timeRange).split('-').map(Number);
  const records = Number(h(CHUNK_HEADERS.records));
  if (
    !value ||
    !firstOffset ||
    !lastOffset ||
    !Number.isFinite(minTime) ||
    !Number.isFinite(maxTime) ||
    !(records > 0)
  ) {
    throw new Error('chunk headers or value are malformed');
  }
  return {
    app: h(CHUNK_HEADERS.app),
    records,
    source: {
      topic: h(CHUNK_HEADERS.sourceTopic),
      partition: Number(h(CHUNK_HEADERS.sourcePartition)),
      firstOffset,
      lastOffset,
    },
    minTime: minTime,
    maxTime: maxTime,
    payload: value,
  };
}
