import { z } from 'zod';
import { kafkaSecuritySchema } from './kafka-security';
import { redisEnvShape } from './redis-settings';
import { hostPortList } from './setting-types';
import { ossSettingsShape } from './oss-settings';

// One schema for every setting. Each key is the environment variable's name, so a validation
// error names exactly what the operator has to fix.

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be >= ${min}`)
    .max(max, `must be <= ${max}`);

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const topic = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name ([A-Za-z0-9._-], 1-249 chars)');

const regex = z.string().refine((s) => {
  try {
    // Compiled with 'u' exactly as the splitter compiles it, so start-up cannot disagree.
    new RegExp(s, 'u');
    return true;
  } catch {
    return false;
  }
}, 'must be a valid regular expression');

const brokers = hostPortList('broker');

const httpUrl = (example: string) =>
  z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, `must be an http(s) URL like ${example}`);

export const envSchema = z.object({
  // --- shared ---
  KAFKA_BROKERS: brokers.default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  // The broker refuses values outside its group.min/max.session.timeout.ms (6 s – 30 min).
  KAFKA_SESSION_TIMEOUT_MS: int(6_000, 1_800_000).default(30_000),
  ...kafkaSecuritySchema,
  ...redisEnvShape,
  LOGSPLIT_INSTANCE_ID: z.string().min(1).optional(),
  LOGSPLIT_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOGSPLIT_TOPIC_RAW: topic.default('logs.raw'),
  LOGSPLIT_TOPIC_BY_APP: topic.default('logs.by-app'),
  LOGSPLIT_TOPIC_DLQ: topic.default('logs.dlq'),
  LOGSPLIT_TOPIC_SEGMENTS: topic.default('logs.segments'),
  LOGSPLIT_TOPIC_PARTITIONS: int(1, 10_000).default(6),
  /** Unset: the cluster's default.replication.factor (KIP-464, Kafka >= 2.4). */
  LOGSPLIT_TOPIC_REPLICATION: int(1, 16).optional(),
  LOGSPLIT_CREATE_TOPICS: bool.default(true),
  LOGSPLIT_SPOOL_DIR: z.string().min(1).default('./data/spool'),
  LOGSPLIT_CODEC: z.enum(['gzip', 'zstd']).default('gzip'),
  LOGSPLIT_CODEC_LEVEL: int(1, 22).optional(),

  // --- segments (config.segments: the compressor writes them, the uploader sweeps them) ---
  LOGSPLIT_WRITER_SLOTS: int(1, 1000).default(10),
  LOGSPLIT_LOCK_TTL_MS: int(1000, 3_600_000).default(30_000),
  LOGSPLIT_COMPRESSOR_GROUP: z.string().min(1).default('logsplit-compressor'),
  LOGSPLIT_SEGMENT_MAX_BYTES: int(1024).default(64 * 1024 * 1024),
  /** Few large files: an app that logs all the time gets two objects per hour per writer slot. */
  LOGSPLIT_SEGMENT_MAX_AGE_MS: int(1000).default(30 * 60_000),

  /** SIGTERM → exit within this; keep it below the orchestrator's grace period (60 s here). */
  LOGSPLIT_SHUTDOWN_TIMEOUT_MS: int(1000, 600_000).default(20_000),

  // --- store ---
  LOGSPLIT_STORE_DRIVER: z.enum(['fs', 'oss']).default('fs'),
  LOGSPLIT_STORE_PREFIX: z
    .string()
    .regex(
      /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
      'must be a relative key prefix like logs or a/b',
    )
    .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not contain . or ..')
    .default('logs'),
  LOGSPLIT_STORE_FS_ROOT: z.string().min(1).default('./data/bucket'),
  OSS_ENDPOINT: z
    .string()
    .url('must be a URL like https://oss-cn-hangzhou.aliyuncs.com')
    .optional(),
  OSS_REGION: z.string().min(1).optional(),
  OSS_BUCKET: z.string().min(1).optional(),
  OSS_ACCESS_KEY_ID: z.string().min(1).optional(),
  OSS_ACCESS_KEY_SECRET: z.string().min(1).optional(),
  OSS_TIMEOUT_MS: int(1000, 3_600_000).default(120_000),
  ...ossSettingsShape,
  /** Retries of a failed store request (5xx, timeouts, resets), capped exponential backoff. */
  LOGSPLIT_STORE_RETRIES: int(0, 100).default(6),
  LOGSPLIT_STORE_RETRY_BASE_MS: int(1, 60_000).default(200),
  LOGSPLIT_STORE_RETRY_MAX_MS: int(1, 600_000).default(10_000),

  // --- splitter ---
  LOGSPLIT_SPLITTER_GROUP: z.string().min(1).default('logsplit-splitter'),
  LOGSPLIT_APP_ID_SOURCE: z.enum(['json', 'header', 'key', 'regex']).default('json'),
  LOGSPLIT_APP_ID_JSON_PATH: z
    .string()
    .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dot path like app or kubernetes.labels.app')
    .default('app'),
  LOGSPLIT_APP_ID_HEADER: z.string().min(1).default('app-id'),
  LOGSPLIT_APP_ID_REGEX: regex.optional(),
  LOGSPLIT_APP_ID_PATTERN: regex.default('^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  LOGSPLIT_MAX_RECORD_BYTES: int(1, 7 * 1024 * 1024).default(512 * 1024),
  // Below the by-app topic's max.message.bytes (8 MiB) with room for headers and batch framing.
  LOGSPLIT_MAX_CHUNK_BYTES: int(1024, 7 * 1024 * 1024).default(900 * 1024),
  /** Most distinct app ids one splitter keeps active; records of further ids go to the DLQ. */
  LOGSPLIT_MAX_APPS: int(1, 1_000_000).default(10_000),
  /** An app id with no record for this long stops counting against LOGSPLIT_MAX_APPS. */
  LOGSPLIT_APP_WINDOW_MS: int(1000).default(3_600_000),

  // --- compressor ---
  LOGSPLIT_MAX_MEMBER_BYTES: int(1024).default(4 * 1024 * 1024),
  /** An app's chunks are gathered across batches into blocks of about this many raw bytes... */
  LOGSPLIT_BLOCK_BYTES: int(1024).default(1024 * 1024),
  /** ...or appended once its oldest gathered chunk is this old... */
  LOGSPLIT_BLOCK_LINGER_MS: int(0, 3_600_000).default(30_000),
  /** ...or once its partition brought nothing new for this long (the end of a burst). */
  LOGSPLIT_BLOCK_IDLE_MS: int(0, 3_600_000).default(2_000),
  /** Raw bytes gathered (not yet durable) per compressor; above it batches wait for appends. */
  LOGSPLIT_COMPRESSOR_BUFFER_BYTES: int(1024 * 1024).default(128 * 1024 * 1024),
  /** Blocks compressed and appended at the same time per compressor (any apps, any partitions). */
  LOGSPLIT_COMPRESSOR_CONCURRENCY: int(1, 64).default(4),
  LOGSPLIT_LOCK_WAIT_TIMEOUT_MS: int(100).default(60_000),
  LOGSPLIT_FSYNC: bool.default(true),
  /** Free space the spool filesystem must keep; below it the compressor pauses. 0 = no check. */
  LOGSPLIT_SPOOL_MIN_FREE_BYTES: int(0).default(1024 * 1024 * 1024),

  // --- uploader ---
  LOGSPLIT_UPLOADER_GROUP: z.string().min(1).default('logsplit-uploader'),
  LOGSPLIT_UPLOAD_INTERVAL_MS: int(500).default(15_000),
  LOGSPLIT_UPLOAD_CONCURRENCY: int(1, 64).default(4),

  // --- observability ---
  /** grpc.health.v1 server; 0 = any free port (tests). */
  LOGSPLIT_HEALTH_PORT: int(0, 65_535).default(50051),
  /** Prometheus /metrics over HTTP; 0 = any free port (tests). */
  LOGSPLIT_METRICS_PORT: int(0, 65_535).default(9464),
  /** Address both listen on. */
  LOGSPLIT_OBSERVABILITY_HOST: z.string().min(1).default('0.0.0.0'),
  /** on/off; unset = on exactly when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  LOGSPLIT_TRACING: z.enum(['on', 'off', 'true', 'false', '1', '0']).optional(),
  /** Per-app metric labels: the first K apps seen get their own label, the rest "other". */
  LOGSPLIT_METRICS_APP_LABELS: int(0, 10_000).default(50),
  /** Comma-separated app ids that always get their own label (then only they do). */
  LOGSPLIT_METRICS_APP_ALLOWLIST: z.string().optional(),
  // Standard OpenTelemetry variables logsplit reads (the SDK reads them too).
  OTEL_SDK_DISABLED: bool.optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl('http://jaeger:4318').optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl('http://jaeger:4318/v1/traces').optional(),
  OTEL_TRACES_SAMPLER: z
    .enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ])
    .optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_BSP_SCHEDULE_DELAY: int(0).optional(),
});

export type Env = z.infer<typeof envSchema>;
