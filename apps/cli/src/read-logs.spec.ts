import { PassThrough } from 'node:stream';
import { createCodec, ObjectInfo, StorageDriver } from '@logsplit/common';
import { planReads } from './index-scan';
import { readUnits } from './read-logs';

/** A one-object store in memory that serves byte ranges, as a store driver must. */
function memoryStore(key: string, body: Buffer): StorageDriver {
  const info: ObjectInfo = { key, size: body.length, md5: '' };
  return {
    name: 'memory',
    getBuffer: async (k, range) => {
      if (k !== key) throw new Error(`unexpected key ${k}`);
      return range ? body.subarray(range.start, range.end + 1) : body;
    },
    head: async () => info,
    list: () => {
      throw new Error('not used');
    },
    getStream: () => Promise.reject(new Error('not used')),
    putFile: () => Promise.reject(new Error('not used')),
    putBuffer: () => Promise.reject(new Error('not used')),
    delete: () => Promise.reject(new Error('not used')),
  };
}

async function collect(run: (out: PassThrough) => Promise<unknown>): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await run(out);
  return Buffer.concat(chunks).toString('utf8');
}

describe.each(['gzip', 'zstd'] as const)('readUnits (%s)', (codecName) => {
  // Big enough that the decoder hands out many chunks, splitting lines between them.
  const lines = Array.from(
    { length: 20_000 },
    (_, i) => `line ${i} ${i % 97 === 0 ? 'ERROR' : 'ok'} ☃`,
  );
  let body: Buffer;
  let blocks: { offset: number; length: number; records: number }[];

  beforeAll(async () => {
    const codec = createCodec(codecName, 1);
    const parts = [lines.slice(0, 12_000), lines.slice(12_000)];
    const payloads = await Promise.all(
      parts.map((p) => codec.compress(Buffer.from(p.map((l) => `${l}\n`).join('')))),
    );
    body = Buffer.concat(payloads);
    blocks = [
      { offset: 0, length: payloads[0].length, records: 12_000 },
      { offset: payloads[0].length, length: payloads[1].length, records: 8_000 },
    ];
  });

  const units = () =>
    planReads(blocks.map((b) => ({ key: 'k', codec: codecName, minTime: 0, maxTime: 0, ...b })));

  it('writes every record of adjacent blocks, read as one range', async () => {
    expect(units()).toHaveLength(1);
    const text = await collect((out) => readUnits(memoryStore('k', body), units(), out));
    expect(text).toBe(lines.map((l) => `${l}\n`).join(''));
  });

  it('greps whole lines even when they straddle decoder chunks', async () => {
    let progress = { records: 0, matched: 0 };
    const text = await collect(async (out) => {
      progress = await readUnits(memoryStore('k', body), units(), out, { grep: 'ERROR ☃' });
    });
    const expected = lines.filter((l) => l.includes('ERROR ☃'));
    expect(text).toBe(expected.map((l) => `${l}\n`).join(''));
    expect(progress).toMatchObject({ records: 20_000, matched: expected.length });
  });

  it('refuses a range that comes back short (object changed or truncated)', async () => {
    const short = memoryStore('k', body.subarray(0, body.length - 5));
    await expect(collect((out) => readUnits(short, units(), out))).rejects.toThrow(
      /got \d+ bytes, the index says \d+/,
    );
  });
});

describe('planReads', () => {
  const b = (offset: number, length: number, key = 'k') => ({
    key,
    codec: 'gzip' as const,
    offset,
    length,
    records: 1,
    minTime: 0,
    maxTime: 0,
  });

  it('merges only blocks adjacent in one object, in read order, up to the size cap', () => {
    expect(
      planReads([b(0, 10), b(10, 10), b(30, 10), b(40, 10, 'other'), b(20, 10)], 1000).map((u) => [
        u.key,
        u.start,
        u.end,
        u.blocks,
      ]),
    ).toEqual([
      ['k', 0, 19, 2],
      ['k', 30, 39, 1],
      ['other', 40, 49, 1],
      ['k', 20, 29, 1],
    ]);
    expect(planReads([b(0, 10), b(10, 10), b(20, 10)], 20).map((u) => u.blocks)).toEqual([2, 1]);
  });
});
