export * from './storage-driver';
export * from './storage.factory';
export * from './object-keys';
export * from './fs-storage.driver';
export * from './oss-storage.driver';
export { fileMd5 } from './md5';
export * from './retrying-storage.driver';
export { isRetryableStoreError } from './store-errors';
