export * from './backoff';
export * from './map-limit';
export * from './mulberry32';
