export * from './chunk';
export * from './chunk-headers';
