import { Logger, Provider } from '@nestjs/common';
import {
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  Metrics,
  RetryingStorageDriver,
  STORAGE,
  StorageDriver,
} from '@logsplit/common';

/** The store as the uploader uses it: every request retried with capped backoff and jitter. */
export const UPLOAD_STORE = Symbol('UPLOAD_STORE');

export const uploadStoreProvider: Provider = {
  provide: UPLOAD_STORE,
  inject: [LOGSPLIT_CONFIG, STORAGE, Metrics],
  useFactory: (config: LogsplitConfig, store: StorageDriver, metrics: Metrics) => {
    const log = new Logger('UploadStore');
    return new RetryingStorageDriver(store, {
      ...config.store.retry,
      onRetry: ({ op, key, attempt, delayMs, error }) => {
        metrics.storeRetries.inc({ op });
        log.warn(
          `store ${op} of ${key} failed (${(error as Error).message}); retry ${attempt}/${config.store.retry.retries} in ${delayMs} ms`,
        );
      },
    });
  },
};
