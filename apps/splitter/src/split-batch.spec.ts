import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { KafkaMessage, Message } from 'kafkajs';
import { CHUNK_HEADERS, DLQ_HEADERS, decodeChunk } from '@logsplit/common';
import { AppIdConfig, RawRecord, createAppIdExtractor } from './app-id';
import { AppAdmission } from './app-admission';
import {
  DLQ_MAX_VALUE_BYTES,
  DLQ_TRUNCATED_HEAD_BYTES,
  OutChunk,
  SplitOptions,
  splitBatch,
} from './split-batch';

const PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
const TOPIC = 'logs.raw';
const PARTITION = 3;

function options(over: Partial<SplitOptions> = {}, appId: Partial<AppIdConfig> = {}): SplitOptions {
  const cfg: AppIdConfig = {
    source: 'json',
    jsonPath: 'app',
    header: 'app-id',
    pattern: PATTERN,
    ...appId,
  };
  return {
    extractor: createAppIdExtractor(cfg),
    pattern: cfg.pattern,
    maxRecordBytes: 1024,
    maxChunkBytes: 4096,
    ...over,
  };
}

let nextOffset = 100;
const raw = (value: string | Buffer | null, over: Partial<RawRecord> = {}): RawRecord => ({
  key: null,
  value: typeof value === 'string' ? Buffer.from(value) : value,
  headers: {},
  offset: String(nextOffset++),
  timestamp: '1700000000000',
  ...over,
});
const line = (app: string, n: number, extra = ''): string => JSON.stringify({ app, n, extra });

/** Header source: the value can be any bytes of any size. */
const sized = (app: string, bytes: number, over: Partial<RawRecord> = {}): RawRecord =>
  raw(Buffer.alloc(bytes, 'x'), { headers: { 'app-id': Buffer.from(app) }, ...over });
const byHeader = (over: Partial<SplitOptions> = {}) => options(over, { source: 'header' });

const split = (records: RawRecord[], opts = options()) =>
  splitBatch({ topic: TOPIC, partition: PARTITION, records }, opts);
const decode = (c: OutChunk) => decodeChunk(c.value, c.headers);

beforeEach(() => {
  nextOffset = 100;
});

describe('splitBatch: chunks', () => {
  it('keeps values byte-exact and adds a newline only where it is missing', () => {
    const values = [
      '{"app":"a","m":"no newline"}',
      '{"app":"a","m":"has newline"}\n',
      '{"app":"a","m":"crlf"}\r\n',
    ];
    const { chunks, dead } = split(values.map((v) => raw(v)));
    expect(dead).toEqual([]);
    expect(chunks).toHaveLength(1);
    expect(chunks[0].value.toString()).toBe(
      '{"app":"a","m":"no newline"}\n{"app":"a","m":"has newline"}\n{"app":"a","m":"crlf"}\r\n',
    );
  });

  it('keeps non-UTF-8 bytes of a record as they are (header source)', () => {
    const value = Buffer.from([0xff, 0x00, 0xfe, 0x0a, 0x80]);
    const { chunks } = split([raw(value, { headers: { 'app-id': 'bin' } })], byHeader());
    expect(chunks[0].value.equals(Buffer.concat([value, Buffer.from('\n')]))).toBe(true);
  });

  it('groups by app in order of first appearance and keeps record order within an app', () => {
    const records = [line('b', 1), line('a', 2), line('b', 3), line('c', 4), line('a', 5)].map(
      (v) => raw(v),
    );
    const { chunks } = split(records);
    expect(chunks.map((c) => c.app)).toEqual(['b', 'a', 'c']);
    expect(chunks.map((c) => c.value.toString())).toEqual([
      `${line('b', 1)}\n${line('b', 3)}\n`,
      `${line('a', 2)}\n${line('a', 5)}\n`,
      `${line('c', 4)}\n`,
    ]);
  });

  it('produces kafkajs messages keyed by app, with headers decodeChunk reads back', () => {
    const { chunks } = split([raw(line('a', 1), { offset: '7', timestamp: '1000' })]);
    const c = chunks[0];
    expect(c.key).toBe('a');
    expect(c.records).toBe(1);
    expect(c.headers[CHUNK_HEADERS.app]).toBe('a');
    expect(decode(c)).toEqual({
      app: 'a',
      records: 1,
      source: { topic: TOPIC, partition: PARTITION, firstOffset: '7', lastOffset: '7' },
      minTime: 1000,
      maxTime: 1000,
      payload: Buffer.from(`${line('a', 1)}\n`),
    });
  });

  it('never lets a chunk exceed maxChunkBytes and packs greedily', () => {
    const maxChunkBytes = 1000;
    // Sizes cycle through 2..700 bytes; some records already end with a newline.
    const records = Array.from({ length: 300 }, (_, i) => {
      const size = 2 + ((i * 97) % 699);
      const value = Buffer.alloc(size, 'y');
      if (i % 3 === 0) value[size - 1] = 0x0a;
      return raw(value, { headers: { 'app-id': i % 4 === 0 ? 'a' : 'b' } });
    });
    const { chunks, dead } = split(records, byHeader({ maxRecordBytes: 999, maxChunkBytes }));
    expect(dead).toEqual([]);
    for (const [i, c] of chunks.entries()) {
      expect(c.value.length).toBeLessThanOrEqual(maxChunkBytes);
      const next = chunks[i + 1];
      // Greedy: the next chunk of the same app starts with a line that would not have fitted.
      if (next?.app === c.app) {
        const firstLine = next.value.subarray(0, next.value.indexOf(0x0a) + 1);
        expect(c.value.length + firstLine.length).toBeGreaterThan(maxChunkBytes);
      }
    }
    expect(chunks.reduce((n, c) => n + c.records, 0)).toBe(records.length);
    for (const app of ['a', 'b']) {
      const expected = Buffer.concat(
        records
          .filter((r) => r.headers!['app-id'] === app)
          .flatMap((r) => (r.value!.at(-1) === 0x0a ? [r.value!] : [r.value!, Buffer.from('\n')])),
      );
      const got = Buffer.concat(chunks.filter((c) => c.app === app).map((c) => c.value));
      expect(got.equals(expected)).toBe(true);
    }
  });

  it('fits a record of exactly maxRecordBytes (plus its newline) in a chunk of maxRecordBytes + 1', () => {
    const { chunks, dead } = split(
      [sized('a', 1024), sized('a', 1), sized('a', 1024)],
      byHeader({ maxRecordBytes: 1024, maxChunkBytes: 1025 }),
    );
    expect(dead).toEqual([]);
    expect(chunks.map((c) => [c.value.length, c.records])).toEqual([
      [1025, 1],
      [2, 1],
      [1025, 1],
    ]);
  });

  it('fills a chunk up to exactly maxChunkBytes', () => {
    const { chunks } = split(
      [sized('a', 9), sized('a', 9), sized('a', 9)],
      byHeader({ maxRecordBytes: 9, maxChunkBytes: 20 }),
    );
    expect(chunks.map((c) => c.value.length)).toEqual([20, 10]);
  });

  it('gives each chunk its own offsets and time range', () => {
    const records = [
      sized('a', 600, { offset: '10', timestamp: '5000' }),
      sized('b', 10, { offset: '11', timestamp: '1' }),
      sized('a', 300, { offset: '12', timestamp: '3000' }),
      sized('a', 600, { offset: '13', timestamp: '9000' }),
      sized('a', 10, { offset: '14', timestamp: '7000' }),
      sized('b', 10, { offset: '15', timestamp: '-1' }), // Kafka's "no timestamp"
    ];
    const { chunks } = split(records, byHeader({ maxRecordBytes: 1000, maxChunkBytes: 1001 }));
    expect(
      chunks
        .map(decode)
        .map((c) => [
          c.app,
          c.source.firstOffset,
          c.source.lastOffset,
          c.minTime,
          c.maxTime,
          c.records,
        ]),
    ).toEqual([
      ['a', '10', '12', 3000, 5000, 2],
      ['a', '13', '14', 7000, 9000, 2],
      ['b', '11', '15', 0, 1, 2],
    ]);
  });

  it('builds each payload with one Buffer.concat', () => {
    const spy = jest.spyOn(Buffer, 'concat');
    try {
      const { chunks } = split(
        Array.from({ length: 50 }, (_, i) => sized(`app${i % 3}`, 100)),
        byHeader({ maxRecordBytes: 100, maxChunkBytes: 1024 }),
      );
      expect(spy).toHaveBeenCalledTimes(chunks.length);
    } finally {
      spy.mockRestore();
    }
  });

  it('is deterministic', () => {
    const make = () => {
      nextOffset = 0;
      return [line('x', 1), 'junk', line('y', 2), line('x', 3)].map((v) => raw(v));
    };
    expect(split(make())).toEqual(split(make()));
  });

  it('returns nothing for an empty batch', () => {
    expect(split([])).toEqual({ chunks: [], dead: [] });
  });

  it('refuses options where a full-size record could not fit in a chunk', () => {
    expect(() => split([], options({ maxRecordBytes: 1024, maxChunkBytes: 1024 }))).toThrow(
      RangeError,
    );
  });
});

describe('splitBatch: dead records', () => {
  it.each([
    ['a null value', null, 'empty-record', 'value is null'],
    ['an empty value', Buffer.alloc(0), 'empty-record', 'value is empty'],
    ['a lone newline', '\n', 'empty-record', 'value is only whitespace (1 bytes)'],
    ['blanks and CRLF', ' \t \r\n', 'empty-record', 'value is only whitespace (5 bytes)'],
    ['unparseable JSON', 'app=a', 'invalid-json', expect.any(String)],
    ['JSON without the field', '{"service":"a"}', 'missing-app-id', 'no app in the JSON object'],
    ['an unsafe id', '{"app":"../etc"}', 'invalid-app-id', 'contains a path separator: "../etc"'],
  ])('sends %s to the DLQ with reason and coordinates', (_name, value, reason, detail) => {
    const original = { trace: Buffer.from('t1'), multi: [Buffer.from('1'), Buffer.from('2')] };
    const rec = raw(value, { key: Buffer.from('k'), headers: original, offset: '42' });
    const { chunks, dead } = split([rec]);
    expect(chunks).toEqual([]);
    expect(dead).toEqual([
      {
        key: rec.key,
        value: rec.value,
        reason,
        detail,
        offset: '42',
        headers: {
          ...original,
          [DLQ_HEADERS.reason]: reason,
          [DLQ_HEADERS.detail]: detail,
          [DLQ_HEADERS.sourceTopic]: TOPIC,
          [DLQ_HEADERS.sourcePartition]: String(PARTITION),
          [DLQ_HEADERS.sourceOffset]: '42',
        },
      },
    ]);
    expect(dead[0].value).toBe(rec.value); // the very bytes, not a copy
  });

  it('checks size before parsing: an oversized record is record-too-large, not invalid-json', () => {
    const { dead } = split([raw('x'.repeat(1025))], options({ maxRecordBytes: 1024 }));
    expect(dead.map((d) => [d.reason, d.detail])).toEqual([
      ['record-too-large', '1025 bytes > 1024'],
    ]);
  });

  it('keeps a value the DLQ topic could not carry as its head, with its size and SHA-256', () => {
    const huge = Buffer.alloc(DLQ_MAX_VALUE_BYTES + 1, 'z');
    const { dead } = split([raw(huge)], options({ maxRecordBytes: 1024 }));
    expect(dead[0].reason).toBe('record-too-large');
    expect(dead[0].value).toEqual(huge.subarray(0, DLQ_TRUNCATED_HEAD_BYTES));
    expect(dead[0].headers[DLQ_HEADERS.truncated]).toBe(String(huge.length));
    expect(dead[0].headers[DLQ_HEADERS.sha256]).toBe(
      createHash('sha256').update(huge).digest('hex'),
    );
    // Under the cap the value goes whole.
    const whole = Buffer.alloc(DLQ_MAX_VALUE_BYTES - 1024, 'z');
    const r = split([raw(whole)], options({ maxRecordBytes: 1024 }));
    expect(r.dead[0].value).toBe(whole);
    expect(r.dead[0].headers[DLQ_HEADERS.truncated]).toBeUndefined();
  });

  it('over the DLQ cap, drops large original headers and keeps the head of the key', () => {
    const rec = raw(Buffer.alloc(DLQ_MAX_VALUE_BYTES, 'v'), {
      key: Buffer.alloc(DLQ_TRUNCATED_HEAD_BYTES + 1, 'k'),
      headers: { big: Buffer.alloc(DLQ_TRUNCATED_HEAD_BYTES, 'h') },
    });
    const [d] = split([rec], options({ maxRecordBytes: 1024 })).dead;
    expect(d.key).toEqual(rec.key!.subarray(0, DLQ_TRUNCATED_HEAD_BYTES));
    expect(d.value!.length).toBe(DLQ_TRUNCATED_HEAD_BYTES);
    expect(Object.keys(d.headers).sort()).toEqual(
      [
        DLQ_HEADERS.reason,
        DLQ_HEADERS.detail,
        DLQ_HEADERS.sourceTopic,
        DLQ_HEADERS.sourcePartition,
        DLQ_HEADERS.sourceOffset,
        DLQ_HEADERS.truncated,
        DLQ_HEADERS.sha256,
      ].sort(),
    );
  });

  it('drops undefined header values kafkajs could not encode', () => {
    const { dead } = split([raw('', { headers: { gone: undefined, kept: 'v' } })]);
    expect(Object.keys(dead[0].headers)).not.toContain('gone');
    expect(dead[0].headers.kept).toBe('v');
  });

  it('splits a mixed batch: every record ends up in exactly one chunk or dead record', () => {
    const values = [
      line('a', 1),
      '',
      line('b', 2),
      '{"app":"a/b"}',
      'x'.repeat(2000),
      line('a', 3),
      '[1]',
    ];
    const records = values.map((v) => raw(v));
    const { chunks, dead } = split(records);
    expect(chunks.reduce((n, c) => n + c.records, 0) + dead.length).toBe(records.length);
    expect(dead.map((d) => [d.offset, d.reason])).toEqual([
      ['101', 'empty-record'],
      ['103', 'invalid-app-id'],
      ['104', 'record-too-large'],
      ['106', 'invalid-json'],
    ]);
    expect(
      chunks.map(decode).map((c) => [c.app, c.source.firstOffset, c.source.lastOffset]),
    ).toEqual([
      ['a', '100', '105'],
      ['b', '102', '102'],
    ]);
  });
});

describe('splitBatch: blank records', () => {
  it('sends a whitespace-only value to the DLQ under every source, a non-blank one through', () => {
    const opts = byHeader();
    const blank = raw(' \n', { headers: { 'app-id': 'a' } });
    const text = raw(' x\n', { headers: { 'app-id': 'a' } });
    const { chunks, dead } = split([blank, text], opts);
    expect(dead.map((d) => [d.offset, d.reason])).toEqual([[blank.offset, 'empty-record']]);
    expect(chunks.map((c) => c.value.toString())).toEqual([' x\n']);
  });

  it('checks size before scanning for blanks: a huge blank record is record-too-large', () => {
    const { dead } = split([raw(' '.repeat(1025))], options({ maxRecordBytes: 1024 }));
    expect(dead.map((d) => d.reason)).toEqual(['record-too-large']);
  });
});

describe('splitBatch: app admission (LOGSPLIT_MAX_APPS)', () => {
  // The guard's rate-limited warning is asserted in app-admission.spec.ts; silent here.
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('admits exactly the records of the first 100 of 2,000 distinct ids; the rest are app-cardinality', () => {
    const admission = new AppAdmission({ maxApps: 100, windowMs: 3_600_000 }, undefined, () => 0);
    const opts = options({ admission });
    const ids = Array.from({ length: 2000 }, (_, i) => `flood-${String(i).padStart(4, '0')}`);
    // Two records per id, over several batches, the second of each id in a later batch.
    const batches = [ids.slice(0, 700), ids.slice(700), ids].map((part) =>
      part.map((id) => raw(line(id, 0))),
    );
    const chunks: OutChunk[] = [];
    const dead: ReturnType<typeof split>['dead'] = [];
    for (const b of batches) {
      const r = split(b, opts);
      chunks.push(...r.chunks);
      dead.push(...r.dead);
    }
    const admitted = ids.slice(0, 100);
    expect([...new Set(chunks.map((c) => c.app))]).toEqual(admitted);
    expect(chunks.reduce((n, c) => n + c.records, 0)).toBe(200);
    expect(dead).toHaveLength(2 * 1900);
    expect(new Set(dead.map((d) => d.reason))).toEqual(new Set(['app-cardinality']));
    expect(dead[0].detail).toBe(
      'more than 100 distinct app ids active within 3600000 ms on this splitter (LOGSPLIT_MAX_APPS): "flood-0100"',
    );
    expect(dead[0].headers[DLQ_HEADERS.reason]).toBe('app-cardinality');
    expect(admission.size).toBe(100);
  });

  it('judges invalid records first: they never take an admission place', () => {
    const admission = new AppAdmission({ maxApps: 1, windowMs: 1000 }, undefined, () => 0);
    const { chunks, dead } = split(
      [raw('{"app":"../x"}'), raw(line('good', 1)), raw(line('late', 2))],
      options({ admission }),
    );
    expect(chunks.map((c) => c.app)).toEqual(['good']);
    expect(dead.map((d) => d.reason)).toEqual(['invalid-app-id', 'app-cardinality']);
  });
});

// Compile-time: the service passes kafkajs messages in and sends the results as they are.
export function typesFitKafkajs(messages: KafkaMessage[]): Message[] {
  const { chunks, dead } = splitBatch({ topic: TOPIC, partition: 0, records: messages }, options());
  return [...chunks, ...dead];
}
