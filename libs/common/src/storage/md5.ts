import { createHash } from 'node:crypto';
import { fileChunks } from './file-chunks';

const MD5_HEX = /^[0-9a-f]{32}$/;

export function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

export function isMd5Hex(value: string): boolean {
  return MD5_HEX.test(value);
}

/** Content-MD5 (RFC 1864) carries the digest in base64; logsplit speaks lower-case hex. */
export function md5HexToBase64(hex: string): string {
  if (!isMd5Hex(hex)) throw new Error(`not a lower-case hex md5: ${JSON.stringify(hex)}`);
  return Buffer.from(hex, 'hex').toString('base64');
}

export function md5Base64ToHex(base64: string): string | undefined {
  const bytes = Buffer.from(base64, 'base64');
  return bytes.length === 16 ? bytes.toString('hex') : undefined;
}

/** MD5 and length of a file, read once in chunks sized to the file (file-chunks.ts). */
export async function fileMd5(path: string): Promise<{ md5: string; size: number }> {
  return chunksMd5(fileChunks(path));
}

export async function chunksMd5(
  chunks: AsyncIterable<Buffer>,
): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { md5: hash.digest('hex'), size };
}
