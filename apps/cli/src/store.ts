// Narrow imports: the library's index loads Nest and OpenTelemetry, a second of start-up.
import { loadConfig, LogsplitConfig } from '@logsplit/common/config';
import { createStorageDriver, StorageDriver } from '@logsplit/common/storage';

export interface CliStore {
  store: StorageDriver;
  prefix: string;
  config: LogsplitConfig;
}

/**
 * The store the services write, from the same environment variables (LOGSPLIT_STORE_DRIVER,
 * LOGSPLIT_STORE_FS_ROOT, LOGSPLIT_STORE_PREFIX, OSS_*). Kafka and Redis settings have defaults
 * and are not contacted by the read commands.
 */
export function storeFromEnv(env: NodeJS.ProcessEnv = process.env): CliStore {
  const config = loadConfig('cli', env);
  return { store: createStorageDriver(config.store), prefix: config.store.prefix, config };
}
