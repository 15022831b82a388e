export * from './codec';
export * from './codec.factory';
export * from './gzip.codec';
export * from './zstd.codec';
