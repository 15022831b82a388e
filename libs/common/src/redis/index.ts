export * from './lease';
export * from './lease-errors';
export * from './lease-lock';
export * from './lease-semaphore';
export * from './redis-client';
export * from './lease-names';
export * from './redis-options';
