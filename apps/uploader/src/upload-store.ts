import { Provider } from '@nestjs/common';
import {
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  RetryingStorageDriver,
  StageEvents,
  STORAGE,
  StorageDriver,
  StoreRequestRetried,
} from '@logsplit/common';

/** The store as the uploader uses it: every request retried with capped backoff and jitter. */
export const UPLOAD_STORE = Symbol('UPLOAD_STORE');

export const uploadStoreProvider: Provider = {
  provide: UPLOAD_STORE,
  inject: [LOGSPLIT_CONFIG, STORAGE, StageEvents],
  useFactory: (config: LogsplitConfig, store: StorageDriver, events: StageEvents) => {
    const { retries } = config.store.retry;
    return new RetryingStorageDriver(store, {
      ...config.store.retry,
      onRetry: ({ op, key, attempt, delayMs, error }) => {
        events.emit(new StoreRequestRetried({ op, key, attempt, retries, delayMs, error }));
      },
    });
  },
};
