import { CodecName } from '../config';
import { Codec } from './codec';
import { GzipCodec } from './gzip.codec';
import { ZstdCodec } from './zstd.codec';

const CODECS: Record<CodecName, (level: number) => Codec> = {
  gzip: (level) => new GzipCodec(level),
  zstd: (level) => new ZstdCodec(level),
};

export function createCodec(name: CodecName, level: number): Codec {
  return CODECS[name](level);
}

/** The codec that wrote a segment, from its file name. */
export function codecForExtension(fileName: string): CodecName | undefined {
  if (fileName.endsWith(new GzipCodec().extension)) return 'gzip';
  if (fileName.endsWith(new ZstdCodec().extension)) return 'zstd';
  return undefined;
}
