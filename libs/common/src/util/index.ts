export * from './backoff';
export * from './map-limit';
