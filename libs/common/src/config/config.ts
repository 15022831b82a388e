import { hostname } from 'node:os';
import { ConfigError } from './config-error';
import { Env, envSchema } from './env-schema';
import { KafkaSecurityConfig, kafkaSecurityFromEnv, kafkaSecurityProblems } from './kafka-security';
import { envForService, ossFromEnv, ossProblems, OssSettings } from './oss-settings';
import { isSecretSetting, rememberSecrets, resolveSecretFiles } from './secrets';
import {
  maskUrlPassword,
  RedisSettings,
  redisSettingsFromEnv,
  rememberUrlSecrets,
} from './redis-settings';
import type { SamplerName } from '../telemetry/sampler';

export type CodecName = 'gzip' | 'zstd';
export type AppIdSource = 'json' | 'header' | 'key' | 'regex';

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  /** How long the group waits for a silent member (e.g. SIGKILLed) before moving its partitions. */
  sessionTimeoutMs: number;
  /** TLS and SASL (KAFKA_SECURITY_PROTOCOL and friends, see kafka-security.ts). */
  security: KafkaSecurityConfig;
}

export interface TopicsConfig {
  raw: string;
  byApp: string;
  dlq: string;
  segments: string;
  partitions: number;
  /** Replicas of a created topic; undefined: the cluster's default.replication.factor. */
  replication?: number;
  /** false: missing topics are an error (NOT_SERVING naming them), not created. */
  create: boolean;
}

export interface StoreConfig {
  driver: 'fs' | 'oss';
  prefix: string;
  fsRoot: string;
  /** Retries of failed store requests (the uploader's RetryingStorageDriver). */
  retry: { retries: number; baseDelayMs: number; maxDelayMs: number };
  oss?: OssSettings;
}

/**
 * What the segment writer (compressor) and the sweeper (uploader) must agree on: max bytes and
 * age (LOGSPLIT_SEGMENT_MAX_*), writer slots per app, lease TTL, and the group that writes
 * segments (LOGSPLIT_COMPRESSOR_GROUP), whose commits gate every upload.
 */
export interface SegmentsConfig {
  maxBytes: number;
  maxAgeMs: number;
  writerSlots: number;
  lockTtlMs: number;
  writerGroup: string;
}

export interface LogsplitConfig {
  service: string;
  instanceId: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  kafka: KafkaConfig;
  redisUrl: string;
  redis: RedisSettings;
  topics: TopicsConfig;
  spoolDir: string;
  codec: { name: CodecName; level: number };
  /** The segment lifecycle: read by the compressor (writer) and the uploader (sweeper) alike. */
  segments: SegmentsConfig;
  /** Longest a SIGTERM/SIGINT shutdown may take before the process exits anyway. */
  shutdownTimeoutMs: number;
  store: StoreConfig;
  splitter: {
    group: string;
    appId: {
      source: AppIdSource;
      jsonPath: string;
      header: string;
      regex?: string;
      pattern: string;
    };
    maxRecordBytes: number;
    maxChunkBytes: number;
    /** Cardinality guard (LOGSPLIT_MAX_APPS, LOGSPLIT_APP_WINDOW_MS). */
    admission: { maxApps: number; windowMs: number };
  };
  compressor: {
    maxMemberBytes: number;
    /**
     * An app's gathered chunks are appended at this many raw bytes, after blockLingerMs, or once
     * its partition brought nothing new for blockIdleMs.
     */
    blockBytes: number;
    blockLingerMs: number;
    blockIdleMs: number;
    /** Raw bytes gathered but not yet durable, per instance, before batches wait. */
    bufferBytes: number;
    /** Blocks compressed and appended at the same time. */
    concurrency: number;
    lockWaitTimeoutMs: number;
    fsync: boolean;
    /** Below this many free bytes on the spool filesystem appends pause (0 = never). */
    spoolMinFreeBytes: number;
  };
  uploader: {
    group: string;
    intervalMs: number;
    concurrency: number;
  };
  observability: ObservabilityConfig;
}

export interface ObservabilityConfig {
  host: string;
  healthPort: number;
  metricsPort: number;
  /** Spans are recorded and exported by OTLP (OTEL_* variables configure the exporter). */
  tracing: boolean;
  sampler?: SamplerName;
  samplerRatio?: number;
  /** At most this many apps get their own metric label; the rest share "other". */
  appLabelLimit: number;
  /** When set, exactly these apps get their own label. */
  appLabelAllowList?: string[];
}

const CODEC_LEVELS: Record<CodecName, { min: number; max: number; default: number }> = {
  gzip: { min: 1, max: 9, default: 6 },
  zstd: { min: 1, max: 22, default: 3 },
};

/** Room for chunk framing beyond the largest record, so any accepted record fits in a chunk. */
const CHUNK_OVERHEAD_BYTES = 1;

/**
 * Reads and validates every setting. Throws ConfigError listing each bad variable by name;
 * a service calls this before it connects to anything.
 */
export function loadConfig(
  service: string,
  processEnv: NodeJS.ProcessEnv = process.env,
): LogsplitConfig {
  const { env, problems: secretProblems } = resolveSecretFiles(envForService(service, processEnv));
  rememberSecrets(env);
  rememberUrlSecrets(env);
  if (secretProblems.length > 0) throw new ConfigError(secretProblems);
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = i.path.join('.');
        const value = env[name];
        const shown =
          value === undefined || isSecretSetting(name)
            ? ''
            : ` (got ${JSON.stringify(maskUrlPassword(value))})`;
        return `${name}: ${i.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  const problems = crossFieldProblems(e);
  if (problems.length > 0) throw new ConfigError(problems);

  const instanceId = e.LOGSPLIT_INSTANCE_ID ?? `${hostname()}-${process.pid}`;
  return {
    service,
    instanceId,
    logLevel: e.LOGSPLIT_LOG_LEVEL,
    kafka: {
      brokers: e.KAFKA_BROKERS,
      clientId: e.KAFKA_CLIENT_ID ?? `logsplit-${service}`,
      sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
      security: kafkaSecurityFromEnv(e),
    },
    redisUrl: e.REDIS_URL,
    redis: redisSettingsFromEnv(e),
    topics: {
      raw: e.LOGSPLIT_TOPIC_RAW,
      byApp: e.LOGSPLIT_TOPIC_BY_APP,
      dlq: e.LOGSPLIT_TOPIC_DLQ,
      segments: e.LOGSPLIT_TOPIC_SEGMENTS,
      partitions: e.LOGSPLIT_TOPIC_PARTITIONS,
      replication: e.LOGSPLIT_TOPIC_REPLICATION,
      create: e.LOGSPLIT_CREATE_TOPICS,
    },
    spoolDir: e.LOGSPLIT_SPOOL_DIR,
    codec: {
      name: e.LOGSPLIT_CODEC,
      level: e.LOGSPLIT_CODEC_LEVEL ?? CODEC_LEVELS[e.LOGSPLIT_CODEC].default,
    },
    segments: {
      maxBytes: e.LOGSPLIT_SEGMENT_MAX_BYTES,
      maxAgeMs: e.LOGSPLIT_SEGMENT_MAX_AGE_MS,
      writerSlots: e.LOGSPLIT_WRITER_SLOTS,
      lockTtlMs: e.LOGSPLIT_LOCK_TTL_MS,
      writerGroup: e.LOGSPLIT_COMPRESSOR_GROUP,
    },
    shutdownTimeoutMs: e.LOGSPLIT_SHUTDOWN_TIMEOUT_MS,
    store: {
      driver: e.LOGSPLIT_STORE_DRIVER,
      prefix: e.LOGSPLIT_STORE_PREFIX,
      fsRoot: e.LOGSPLIT_STORE_FS_ROOT,
      retry: {
        retries: e.LOGSPLIT_STORE_RETRIES,
        baseDelayMs: e.LOGSPLIT_STORE_RETRY_BASE_MS,
        maxDelayMs: e.LOGSPLIT_STORE_RETRY_MAX_MS,
      },
      oss: e.LOGSPLIT_STORE_DRIVER === 'oss' ? ossFromEnv(e) : undefined,
    },
    splitter: {
      group: e.LOGSPLIT_SPLITTER_GROUP,
      appId: {
        source: e.LOGSPLIT_APP_ID_SOURCE,
        jsonPath: e.LOGSPLIT_APP_ID_JSON_PATH,
        header: e.LOGSPLIT_APP_ID_HEADER,
        regex: e.LOGSPLIT_APP_ID_REGEX,
        pattern: e.LOGSPLIT_APP_ID_PATTERN,
      },
      maxRecordBytes: e.LOGSPLIT_MAX_RECORD_BYTES,
      maxChunkBytes: e.LOGSPLIT_MAX_CHUNK_BYTES,
      admission: { maxApps: e.LOGSPLIT_MAX_APPS, windowMs: e.LOGSPLIT_APP_WINDOW_MS },
    },
    compressor: {
      maxMemberBytes: e.LOGSPLIT_MAX_MEMBER_BYTES,
      blockBytes: e.LOGSPLIT_BLOCK_BYTES,
      blockLingerMs: e.LOGSPLIT_BLOCK_LINGER_MS,
      blockIdleMs: e.LOGSPLIT_BLOCK_IDLE_MS,
      bufferBytes: e.LOGSPLIT_COMPRESSOR_BUFFER_BYTES,
      concurrency: e.LOGSPLIT_COMPRESSOR_CONCURRENCY,
      lockWaitTimeoutMs: e.LOGSPLIT_LOCK_WAIT_TIMEOUT_MS,
      fsync: e.LOGSPLIT_FSYNC,
      spoolMinFreeBytes: e.LOGSPLIT_SPOOL_MIN_FREE_BYTES,
    },
    uploader: {
      group: e.LOGSPLIT_UPLOADER_GROUP,
      intervalMs: e.LOGSPLIT_UPLOAD_INTERVAL_MS,
      concurrency: e.LOGSPLIT_UPLOAD_CONCURRENCY,
    },
    observability: {
      host: e.LOGSPLIT_OBSERVABILITY_HOST,
      healthPort: e.LOGSPLIT_HEALTH_PORT,
      metricsPort: e.LOGSPLIT_METRICS_PORT,
      tracing: tracingEnabled(e),
      sampler: e.OTEL_TRACES_SAMPLER,
      samplerRatio: e.OTEL_TRACES_SAMPLER_ARG,
      appLabelLimit: e.LOGSPLIT_METRICS_APP_LABELS,
      appLabelAllowList: e.LOGSPLIT_METRICS_APP_ALLOWLIST?.split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    },
  };
}

/** Explicit LOGSPLIT_TRACING wins; otherwise tracing is on when there is somewhere to send spans. */
function tracingEnabled(e: Env): boolean {
  if (e.OTEL_SDK_DISABLED) return false;
  if (e.LOGSPLIT_TRACING !== undefined) return ['on', 'true', '1'].includes(e.LOGSPLIT_TRACING);
  return Boolean(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

function crossFieldProblems(e: Env): string[] {
  const problems: string[] = kafkaSecurityProblems(e);
  const range = CODEC_LEVELS[e.LOGSPLIT_CODEC];
  if (
    e.LOGSPLIT_CODEC_LEVEL !== undefined &&
    (e.LOGSPLIT_CODEC_LEVEL < range.min || e.LOGSPLIT_CODEC_LEVEL > range.max)
  ) {
    problems.push(
      `LOGSPLIT_CODEC_LEVEL: ${e.LOGSPLIT_CODEC} takes a level from ${range.min} to ${range.max} (got ${e.LOGSPLIT_CODEC_LEVEL})`,
    );
  }
  if (e.LOGSPLIT_STORE_DRIVER === 'oss') problems.push(...ossProblems(e));
  if (e.LOGSPLIT_APP_ID_SOURCE === 'regex') {
    if (!e.LOGSPLIT_APP_ID_REGEX) {
      problems.push('LOGSPLIT_APP_ID_REGEX: required when LOGSPLIT_APP_ID_SOURCE=regex');
    } else if (captureGroups(e.LOGSPLIT_APP_ID_REGEX) < 1) {
      problems.push(
        'LOGSPLIT_APP_ID_REGEX: needs a capture group (or a group named app) for the app id',
      );
    }
  }
  if (e.LOGSPLIT_STORE_RETRY_MAX_MS < e.LOGSPLIT_STORE_RETRY_BASE_MS) {
    problems.push(
      `LOGSPLIT_STORE_RETRY_MAX_MS: must be at least LOGSPLIT_STORE_RETRY_BASE_MS (${e.LOGSPLIT_STORE_RETRY_BASE_MS}), got ${e.LOGSPLIT_STORE_RETRY_MAX_MS}`,
    );
  }
  if (e.LOGSPLIT_MAX_CHUNK_BYTES < e.LOGSPLIT_MAX_RECORD_BYTES + CHUNK_OVERHEAD_BYTES) {
    problems.push(
      `LOGSPLIT_MAX_CHUNK_BYTES: must exceed LOGSPLIT_MAX_RECORD_BYTES (${e.LOGSPLIT_MAX_RECORD_BYTES}) so every accepted record fits in a chunk`,
    );
  }
  return problems;
}

/**
 * Counts a (valid) regex's capture groups the way the splitter does: `re|` matches '' with one
 * array slot per group. A textual scan would count escaped `\(` and `[(]` as groups.
 */
function captureGroups(re: string): number {
  return new RegExp(`${re}|`, 'u').exec('')!.length - 1;
}
