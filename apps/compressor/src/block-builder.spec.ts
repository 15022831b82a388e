import { Chunk } from '@logsplit/common';
import { InputChunk, planBlocks } from './block-builder';

let nextOffset = 0;
/** A chunk of `size` payload bytes: lines of 'x' ending in '\n', tagged with `tag`. */
function chunk(size: number, over: Partial<Chunk> = {}, tag = 'x'): Chunk {
  const first = nextOffset;
  const records = Math.max(1, Math.floor(size / 10));
  nextOffset += records;
  const payload = Buffer.alloc(size, tag);
  payload[size - 1] = 0x0a;
  return {
    app: 'app1',
    records,
    source: {
      topic: 'logs.raw',
      partition: 0,
      firstOffset: String(first),
      lastOffset: String(first + records - 1),
    },
    minTime: 1_000 + first,
    maxTime: 2_000 + first,
    payload,
    ...over,
  };
}

beforeEach(() => (nextOffset = 0));

const TOPIC = 'logs.by-app';
const PARTITION = 3;
/** The chunks as by-app messages at offsets 100, 101, ... */
const at = (chunks: Chunk[]): InputChunk[] =>
  chunks.map((chunk, i) => ({ chunk, offset: 100 + i }));
const plan = (chunks: Chunk[], maxMemberBytes: number) =>
  planBlocks(TOPIC, PARTITION, at(chunks), maxMemberBytes);
const input = (...offsets: number[]) => ({ topic: TOPIC, partition: PARTITION, offsets });

describe('planBlocks', () => {
  it('plans nothing for no chunks', () => {
    expect(plan([], 1024)).toEqual([]);
  });

  it('merges consecutive chunks while they fit in maxMemberBytes', () => {
    const chunks = [
      chunk(400, {}, 'a'),
      chunk(300, {}, 'b'),
      chunk(324, {}, 'c'),
      chunk(1, {}, 'd'),
    ];
    const blocks = plan(chunks, 1024);
    expect(blocks.map((b) => b.payload.length)).toEqual([1024, 1]);
    expect(blocks[0].payload).toEqual(
      Buffer.concat([chunks[0].payload, chunks[1].payload, chunks[2].payload]),
    );
    expect(blocks[1].payload).toEqual(chunks[3].payload);
  });

  it('never splits a chunk: one that does not fit starts the next block', () => {
    const chunks = [chunk(600, {}, 'a'), chunk(600, {}, 'b'), chunk(600, {}, 'c')];
    const blocks = plan(chunks, 1024);
    expect(blocks.map((b) => b.payload)).toEqual(chunks.map((c) => c.payload));
    expect(blocks.map((b) => b.info.sources)).toEqual(chunks.map((c) => [c.source]));
  });

  it('gives a single oversize chunk a block of its own', () => {
    const chunks = [
      chunk(100, {}, 'a'),
      chunk(5000, {}, 'b'),
      chunk(100, {}, 'c'),
      chunk(100, {}, 'd'),
    ];
    const blocks = plan(chunks, 1024);
    expect(blocks.map((b) => b.payload.length)).toEqual([100, 5000, 200]);
    expect(blocks[1].payload).toEqual(chunks[1].payload);
    expect(blocks[1].info.records).toBe(chunks[1].records);
  });

  it('keeps every byte in order across blocks', () => {
    const chunks = Array.from({ length: 50 }, (_, i) =>
      chunk(37 + ((i * 53) % 400), {}, String.fromCharCode(97 + (i % 26))),
    );
    const blocks = plan(chunks, 1024);
    expect(Buffer.concat(blocks.map((b) => b.payload))).toEqual(
      Buffer.concat(chunks.map((c) => c.payload)),
    );
    for (const b of blocks) expect(b.payload.length).toBeLessThanOrEqual(1024);
    expect(blocks.reduce((n, b) => n + b.info.sources.length, 0)).toBe(50);
  });

  it('aggregates records, raw bytes, time range and sources of a block', () => {
    const a = chunk(100, {
      records: 3,
      minTime: 500,
      maxTime: 900,
      source: { topic: 'logs.raw', partition: 1, firstOffset: '10', lastOffset: '12' },
    });
    const b = chunk(50, {
      records: 2,
      minTime: 100,
      maxTime: 600,
      source: { topic: 'logs.raw', partition: 4, firstOffset: '7', lastOffset: '8' },
    });
    const c = chunk(20, {
      records: 1,
      minTime: 700,
      maxTime: 1200,
      source: { topic: 'logs.raw', partition: 1, firstOffset: '13', lastOffset: '13' },
    });
    const [block, ...rest] = plan([a, b, c], 1024);
    expect(rest).toEqual([]);
    expect(block.info).toEqual({
      records: 6,
      rawBytes: 170,
      minTime: 100,
      maxTime: 1200,
      sources: [a.source, b.source, c.source],
      input: input(100, 101, 102),
    });
  });

  it('describes each block by its own chunks only', () => {
    const a = chunk(800, { records: 4, minTime: 10, maxTime: 20 });
    const b = chunk(800, { records: 5, minTime: 30, maxTime: 40 });
    const blocks = plan([a, b], 1024);
    expect(blocks.map((x) => x.info)).toEqual([
      {
        records: 4,
        rawBytes: 800,
        minTime: 10,
        maxTime: 20,
        sources: [a.source],
        input: input(100),
      },
      {
        records: 5,
        rawBytes: 800,
        minTime: 30,
        maxTime: 40,
        sources: [b.source],
        input: input(101),
      },
    ]);
  });

  it('names the by-app messages of each block: every chunk in exactly one block, in order', () => {
    const chunks = Array.from({ length: 40 }, (_, i) => chunk(50 + ((i * 97) % 700)));
    const blocks = plan(chunks, 1024);
    expect(blocks.length).toBeGreaterThan(1);
    for (const b of blocks) {
      expect(b.info.input).toMatchObject({ topic: TOPIC, partition: PARTITION });
      expect(b.info.input!.offsets).toHaveLength(b.info.sources.length);
    }
    expect(blocks.flatMap((b) => b.info.input!.offsets)).toEqual(chunks.map((_, i) => 100 + i));
  });
});
