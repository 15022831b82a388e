import { StoreConfig } from '../config';
import { FsStorageDriver } from './fs-storage.driver';
import { OssStorageDriver } from './oss-storage.driver';
import { StorageDriver } from './storage-driver';

const DRIVERS: Record<StoreConfig['driver'], (config: StoreConfig) => StorageDriver> = {
  fs: (c) => new FsStorageDriver(c.fsRoot),
  oss: (c) => new OssStorageDriver(required(c.oss, 'oss settings (OSS_ENDPOINT, OSS_BUCKET, ...)')),
};

export function createStorageDriver(config: StoreConfig): StorageDriver {
  const make = DRIVERS[config.driver];
  if (!make) throw new Error(`unknown store driver ${JSON.stringify(config.driver)}`);
  return make(config);
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`store driver needs ${what}`);
  return value;
}
