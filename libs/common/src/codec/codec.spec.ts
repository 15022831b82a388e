import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { createCodec } from './codec.factory';
import { Codec } from './codec';

async function decodeWith(codec: Codec, data: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from([data]),
    codec.createDecompressStream(),
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

const blocks = [
  Buffer.from('2024-01-01 INFO started\n'),
  Buffer.from('日志 ünïcödé — multi-byte\n'),
  Buffer.alloc(200_000, 'x'),
  Buffer.from('last line without newline'),
];
const whole = Buffer.concat(blocks);

describe.each([
  ['gzip', 6, ['gzip', '-dc']],
  ['zstd', 3, ['zstd', '-dcq']],
] as const)('%s codec', (name, level, cli) => {
  const codec = createCodec(name, level);

  it('compresses blocks that concatenate into one valid file (own decoder)', async () => {
    const file = Buffer.concat(await Promise.all(blocks.map((b) => codec.compress(b))));
    expect((await decodeWith(codec, file)).equals(whole)).toBe(true);
  });

  it('writes files the standard command-line tool reads', async () => {
    const file = Buffer.concat(await Promise.all(blocks.map((b) => codec.compress(b))));
    const path = join(mkdtempSync(join(tmpdir(), 'codec-')), `seg${codec.extension}`);
    writeFileSync(path, file);
    const [bin, ...args] = cli;
    expect(execFileSync(bin, [...args, path], { maxBuffer: 16 << 20 }).equals(whole)).toBe(true);
  });

  it('decodes any one block on its own (range reads)', async () => {
    const parts = await Promise.all(blocks.map((b) => codec.compress(b)));
    expect((await decodeWith(codec, parts[1])).equals(blocks[1])).toBe(true);
  });

  it('actually compresses repetitive log text', async () => {
    const text = Buffer.from('GET /api/v1/orders 200 12ms\n'.repeat(5000));
    expect((await codec.compress(text)).length).toBeLessThan(text.length / 20);
  });
});

describe('zstd frames decoder', () => {
  it('decodes many frames fed in small pieces, including RLE and raw blocks', async () => {
    const codec = createCodec('zstd', 3);
    const inputs = [
      Buffer.alloc(300_000, 'a'),
      Buffer.from('x'),
      randomish(50_000),
      Buffer.from('end\n'),
    ];
    const file = Buffer.concat(await Promise.all(inputs.map((b) => codec.compress(b))));
    const pieces: Buffer[] = [];
    for (let i = 0; i < file.length; i += 7) pieces.push(file.subarray(i, i + 7));
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(pieces),
      codec.createDecompressStream(),
      new Writable({
        write(c: Buffer, _e, cb) {
          out.push(c);
          cb();
        },
      }),
    );
    expect(Buffer.concat(out).equals(Buffer.concat(inputs))).toBe(true);
  });

  it('rejects a file cut inside a frame', async () => {
    const codec = createCodec('zstd', 3);
    const file = await codec.compress(Buffer.from('some log line\n'.repeat(100)));
    await expect(decodeWith(codec, file.subarray(0, file.length - 3))).rejects.toThrow(
      /ends inside a frame/,
    );
  });
});

/** Incompressible bytes, so zstd stores raw blocks. */
function randomish(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 12345;
  for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}
