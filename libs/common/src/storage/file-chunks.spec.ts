import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileChunks, READ_CHUNK_BYTES, readChunks } from './file-chunks';
import { fileMd5 } from './md5';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'file-chunks-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunks) out.push(Buffer.from(c));
  return out;
}

describe('fileChunks', () => {
  it('yields nothing for an empty file', async () => {
    writeFileSync(join(dir, 'f'), '');
    expect(await collect(fileChunks(join(dir, 'f')))).toEqual([]);
  });

  it('reads a small file in one chunk of its own size (no 1 MiB buffer per read)', async () => {
    const body = Buffer.from('x'.repeat(600));
    writeFileSync(join(dir, 'f'), body);
    const chunks = await collect(fileChunks(join(dir, 'f')));
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toEqual(body);
  });

  it('reads a large file in chunks of at most READ_CHUNK_BYTES', async () => {
    const body = Buffer.alloc(2 * READ_CHUNK_BYTES + 12345, 7);
    body[body.length - 1] = 9;
    writeFileSync(join(dir, 'f'), body);
    const chunks = await collect(fileChunks(join(dir, 'f')));
    expect(chunks.map((c) => c.length)).toEqual([READ_CHUNK_BYTES, READ_CHUNK_BYTES, 12345]);
    expect(Buffer.concat(chunks)).toEqual(body);
  });

  it('reads to the end even past the size it was told (a file that grew)', async () => {
    writeFileSync(join(dir, 'f'), 'abc');
    const fh = await open(join(dir, 'f'), 'r');
    try {
      appendFileSync(join(dir, 'f'), 'defg');
      expect(Buffer.concat(await collect(readChunks(fh, 3))).toString()).toBe('abcdefg');
    } finally {
      await fh.close();
    }
  });

  it('fileMd5 gives the md5 and size of the whole file', async () => {
    const body = Buffer.alloc(READ_CHUNK_BYTES + 3, 1);
    writeFileSync(join(dir, 'f'), body);
    expect(await fileMd5(join(dir, 'f'))).toEqual({
      md5: createHash('md5').update(body).digest('hex'),
      size: body.length,
    });
  });
});
