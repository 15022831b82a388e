import { loadConfig } from './config';
import { ConfigError } from './config-error';

/** The ConfigError that loadConfig throws for env; fails the test if it does not throw one. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig('test', env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** The one problem reported for variable name (and that there is exactly one such line). */
function problemOf(env: NodeJS.ProcessEnv, name: string): string {
  const err = configError(env);
  const mine = err.problems.filter((p) => p.startsWith(`${name}:`));
  expect(mine).toHaveLength(1);
  expect(err.message).toContain(mine[0]);
  return mine[0];
}

const OSS_ENV = {
  LOGSPLIT_STORE_DRIVER: 'oss',
  OSS_ENDPOINT: 'https://oss-cn-hangzhou.aliyuncs.com',
  OSS_BUCKET: 'logs',
  OSS_ACCESS_KEY_ID: 'id',
  OSS_ACCESS_KEY_SECRET: 'secret',
};

describe('loadConfig', () => {
  it('builds a runnable config from an empty environment', () => {
    const c = loadConfig('uploader', {});
    expect(c.service).toBe('uploader');
    expect(c.instanceId).toMatch(/\S+-\d+$/);
    expect(c.logLevel).toBe('info');
    expect(c.kafka).toEqual({
      brokers: ['127.0.0.1:9092'],
      clientId: 'logsplit-uploader',
      sessionTimeoutMs: 30_000,
    });
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.topics).toEqual({
      raw: 'logs.raw',
      byApp: 'logs.by-app',
      dlq: 'logs.dlq',
      segments: 'logs.segments',
      partitions: 6,
      replication: 1,
    });
    expect(c.codec).toEqual({ name: 'gzip', level: 6 });
    expect(c.writerSlots).toBe(10);
    expect(c.store).toEqual({
      driver: 'fs',
      prefix: 'logs',
      fsRoot: './data/bucket',
      retry: { retries: 6, baseDelayMs: 200, maxDelayMs: 10_000 },
      oss: undefined,
    });
    expect(c.splitter.appId.source).toBe('json');
    expect(c.splitter.maxChunkBytes).toBeGreaterThan(c.splitter.maxRecordBytes);
    expect(c.compressor).toMatchObject({
      segmentMaxBytes: 64 * 1024 * 1024,
      segmentMaxAgeMs: 30 * 60_000,
      blockBytes: 1024 * 1024,
      blockLingerMs: 30_000,
      blockIdleMs: 2_000,
      fsync: true,
    });
    expect(c.uploader).toMatchObject({ intervalMs: 15_000, concurrency: 4 });
  });

  it('reads the variables it is given', () => {
    const c = loadConfig('uploader', {
      KAFKA_BROKERS: 'k1:9092, k2:19092',
      KAFKA_CLIENT_ID: 'me',
      REDIS_URL: 'rediss://r.example:6380/2',
      LOGSPLIT_INSTANCE_ID: 'box-7',
      LOGSPLIT_WRITER_SLOTS: '3',
      LOGSPLIT_CODEC: 'zstd',
      LOGSPLIT_FSYNC: 'no',
      LOGSPLIT_STORE_PREFIX: 'a/b-c/d.e',
      ...OSS_ENV,
    });
    expect(c.kafka).toEqual({
      brokers: ['k1:9092', 'k2:19092'],
      clientId: 'me',
      sessionTimeoutMs: 30_000,
    });
    expect(c.redisUrl).toBe('rediss://r.example:6380/2');
    expect(c.instanceId).toBe('box-7');
    expect(c.writerSlots).toBe(3);
    expect(c.codec).toEqual({ name: 'zstd', level: 3 });
    expect(c.compressor.fsync).toBe(false);
    expect(c.store.prefix).toBe('a/b-c/d.e');
    expect(c.store.oss).toMatchObject({
      endpoint: 'https://oss-cn-hangzhou.aliyuncs.com',
      region: undefined,
      bucket: 'logs',
      accessKeyId: 'id',
      accessKeySecret: 'secret',
      timeoutMs: 120_000,
    });
  });

  it('rejects a non-numeric LOGSPLIT_WRITER_SLOTS, naming it and the value', () => {
    const p = problemOf({ LOGSPLIT_WRITER_SLOTS: 'ten' }, 'LOGSPLIT_WRITER_SLOTS');
    expect(p).toMatch(/must be a number/);
    expect(p).toContain('"ten"');
  });

  it('rejects 0 writer slots and a fractional count', () => {
    expect(problemOf({ LOGSPLIT_WRITER_SLOTS: '0' }, 'LOGSPLIT_WRITER_SLOTS')).toMatch(
      /must be >= 1.*"0"/,
    );
    expect(problemOf({ LOGSPLIT_WRITER_SLOTS: '1.5' }, 'LOGSPLIT_WRITER_SLOTS')).toMatch(
      /whole number/,
    );
  });

  it.each(['localhost', 'localhost:9092,', 'a:9092,b', 'host:port', ':9092'])(
    'rejects KAFKA_BROKERS=%j',
    (brokers) => {
      const p = problemOf({ KAFKA_BROKERS: brokers }, 'KAFKA_BROKERS');
      expect(p).toMatch(/host:port/);
      expect(p).toContain(JSON.stringify(brokers));
    },
  );

  it.each(['localhost:6379', 'http://127.0.0.1:6379', 'redis://'])(
    'rejects REDIS_URL=%j',
    (url) => {
      expect(problemOf({ REDIS_URL: url }, 'REDIS_URL')).toMatch(/redis:\/\/ or rediss:\/\//);
    },
  );

  it('reads LOGSPLIT_SHUTDOWN_TIMEOUT_MS (default 20 s) and rejects one below 1 s', () => {
    expect(loadConfig('t', {}).shutdownTimeoutMs).toBe(20_000);
    expect(loadConfig('t', { LOGSPLIT_SHUTDOWN_TIMEOUT_MS: '45000' }).shutdownTimeoutMs).toBe(
      45_000,
    );
    expect(problemOf({ LOGSPLIT_SHUTDOWN_TIMEOUT_MS: '10' }, 'LOGSPLIT_SHUTDOWN_TIMEOUT_MS')).toBe(
      'LOGSPLIT_SHUTDOWN_TIMEOUT_MS: must be >= 1000 (got "10")',
    );
  });

  it('reads KAFKA_SESSION_TIMEOUT_MS (default 30 s) within the range brokers accept', () => {
    expect(loadConfig('t', {}).kafka.sessionTimeoutMs).toBe(30_000);
    expect(loadConfig('t', { KAFKA_SESSION_TIMEOUT_MS: '10000' }).kafka.sessionTimeoutMs).toBe(
      10_000,
    );
    expect(problemOf({ KAFKA_SESSION_TIMEOUT_MS: '3000' }, 'KAFKA_SESSION_TIMEOUT_MS')).toBe(
      'KAFKA_SESSION_TIMEOUT_MS: must be >= 6000 (got "3000")',
    );
  });

  it('rejects an unknown LOGSPLIT_CODEC', () => {
    const p = problemOf({ LOGSPLIT_CODEC: 'lz4' }, 'LOGSPLIT_CODEC');
    expect(p).toMatch(/gzip/);
    expect(p).toMatch(/zstd/);
    expect(p).toContain('"lz4"');
  });

  it('checks LOGSPLIT_CODEC_LEVEL against the chosen codec', () => {
    const p = problemOf({ LOGSPLIT_CODEC_LEVEL: '12' }, 'LOGSPLIT_CODEC_LEVEL');
    expect(p).toMatch(/gzip takes a level from 1 to 9 \(got 12\)/);
    expect(loadConfig('t', { LOGSPLIT_CODEC: 'zstd', LOGSPLIT_CODEC_LEVEL: '12' }).codec).toEqual({
      name: 'zstd',
      level: 12,
    });
    expect(loadConfig('t', { LOGSPLIT_CODEC_LEVEL: '9' }).codec).toEqual({
      name: 'gzip',
      level: 9,
    });
    expect(
      problemOf({ LOGSPLIT_CODEC: 'zstd', LOGSPLIT_CODEC_LEVEL: '23' }, 'LOGSPLIT_CODEC_LEVEL'),
    ).toMatch(/must be <= 22/);
  });

  it('lists every OSS_* setting that LOGSPLIT_STORE_DRIVER=oss lacks', () => {
    const err = configError({ LOGSPLIT_STORE_DRIVER: 'oss' });
    expect(err.problems).toEqual([
      'OSS_ENDPOINT: required when LOGSPLIT_STORE_DRIVER=oss',
      'OSS_BUCKET: required when LOGSPLIT_STORE_DRIVER=oss',
      expect.stringMatching(
        /^OSS_ACCESS_KEY_ID: no OSS credentials: set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET, or RRSA/,
      ),
    ]);
    const some = configError({ ...OSS_ENV, OSS_BUCKET: undefined, OSS_ACCESS_KEY_ID: undefined });
    expect(some.problems).toEqual([
      'OSS_BUCKET: required when LOGSPLIT_STORE_DRIVER=oss',
      'OSS_ACCESS_KEY_ID: required with OSS_ACCESS_KEY_SECRET',
    ]);
    // The fs driver needs none of them.
    expect(loadConfig('t', { LOGSPLIT_STORE_DRIVER: 'fs' }).store.oss).toBeUndefined();
  });

  it('rejects an OSS_ENDPOINT that is not a URL', () => {
    expect(problemOf({ ...OSS_ENV, OSS_ENDPOINT: 'oss-cn-hangzhou' }, 'OSS_ENDPOINT')).toMatch(
      /URL/,
    );
  });

  describe('LOGSPLIT_APP_ID_SOURCE=regex', () => {
    const regexEnv = (re?: string) => ({
      LOGSPLIT_APP_ID_SOURCE: 'regex',
      LOGSPLIT_APP_ID_REGEX: re,
    });

    it('requires LOGSPLIT_APP_ID_REGEX', () => {
      expect(problemOf(regexEnv(), 'LOGSPLIT_APP_ID_REGEX')).toMatch(/required/);
    });

    it.each([
      'app=\\w+',
      '(?:app)=\\w+',
      'app=(?=x)\\w+',
      '(?<=app=)\\w+',
      '\\(app\\)=\\w+',
      '[(]\\w+[)]',
    ])('requires a capture group: %j has none', (re) => {
      expect(problemOf(regexEnv(re), 'LOGSPLIT_APP_ID_REGEX')).toMatch(/capture group/);
    });

    it.each(['app=(\\w+)', '(?:x)?app=(\\w+)', 'app=(?<app>\\w+)', '\\(x\\) (\\w+)'])(
      'accepts %j',
      (re) => {
        expect(loadConfig('t', regexEnv(re)).splitter.appId).toMatchObject({
          source: 'regex',
          regex: re,
        });
      },
    );

    it('rejects an invalid regex, compiled as the splitter compiles it (with u)', () => {
      expect(problemOf(regexEnv('app=(\\w+'), 'LOGSPLIT_APP_ID_REGEX')).toMatch(
        /valid regular expression/,
      );
      // Valid without the u flag, a syntax error with it.
      expect(problemOf(regexEnv('app=(\\w+)\\-'), 'LOGSPLIT_APP_ID_REGEX')).toMatch(
        /valid regular expression/,
      );
    });

    it('is not checked for a capture group when the source is not regex', () => {
      expect(loadConfig('t', { LOGSPLIT_APP_ID_REGEX: 'x' }).splitter.appId.source).toBe('json');
    });
  });

  it('rejects an invalid LOGSPLIT_APP_ID_PATTERN', () => {
    expect(problemOf({ LOGSPLIT_APP_ID_PATTERN: '[a-' }, 'LOGSPLIT_APP_ID_PATTERN')).toMatch(
      /valid regular expression/,
    );
  });

  it('reads the app cardinality limit (LOGSPLIT_MAX_APPS, LOGSPLIT_APP_WINDOW_MS)', () => {
    expect(loadConfig('t', {}).splitter.admission).toEqual({
      maxApps: 10_000,
      windowMs: 3_600_000,
    });
    expect(
      loadConfig('t', { LOGSPLIT_MAX_APPS: '100', LOGSPLIT_APP_WINDOW_MS: '60000' }).splitter
        .admission,
    ).toEqual({ maxApps: 100, windowMs: 60_000 });
    expect(problemOf({ LOGSPLIT_MAX_APPS: '0' }, 'LOGSPLIT_MAX_APPS')).toMatch(/must be >= 1/);
    expect(problemOf({ LOGSPLIT_APP_WINDOW_MS: '10' }, 'LOGSPLIT_APP_WINDOW_MS')).toMatch(
      /must be >= 1000/,
    );
  });

  it('requires LOGSPLIT_MAX_CHUNK_BYTES to exceed LOGSPLIT_MAX_RECORD_BYTES', () => {
    for (const chunk of ['4096', '4000']) {
      const p = problemOf(
        { LOGSPLIT_MAX_RECORD_BYTES: '4096', LOGSPLIT_MAX_CHUNK_BYTES: chunk },
        'LOGSPLIT_MAX_CHUNK_BYTES',
      );
      expect(p).toMatch(/must exceed LOGSPLIT_MAX_RECORD_BYTES \(4096\)/);
    }
    const ok = loadConfig('t', {
      LOGSPLIT_MAX_RECORD_BYTES: '4096',
      LOGSPLIT_MAX_CHUNK_BYTES: '4097',
    });
    expect(ok.splitter).toMatchObject({ maxRecordBytes: 4096, maxChunkBytes: 4097 });
  });

  it('reads the store retry settings and wants a cap no lower than the base', () => {
    const c = loadConfig('t', {
      LOGSPLIT_STORE_RETRIES: '0',
      LOGSPLIT_STORE_RETRY_BASE_MS: '50',
      LOGSPLIT_STORE_RETRY_MAX_MS: '50',
    });
    expect(c.store.retry).toEqual({ retries: 0, baseDelayMs: 50, maxDelayMs: 50 });
    expect(
      problemOf(
        { LOGSPLIT_STORE_RETRY_BASE_MS: '500', LOGSPLIT_STORE_RETRY_MAX_MS: '100' },
        'LOGSPLIT_STORE_RETRY_MAX_MS',
      ),
    ).toMatch(/must be at least LOGSPLIT_STORE_RETRY_BASE_MS \(500\), got 100/);
  });

  it.each(['../logs', 'logs/..', 'a/./b', '/logs', 'logs/', 'a//b', 'a b', ''])(
    'rejects LOGSPLIT_STORE_PREFIX=%j',
    (prefix) => {
      expect(problemOf({ LOGSPLIT_STORE_PREFIX: prefix }, 'LOGSPLIT_STORE_PREFIX')).toMatch(
        /relative key prefix|must not contain \. or \.\./,
      );
    },
  );

  it('says that .. is the problem in a prefix that is otherwise well-formed', () => {
    expect(problemOf({ LOGSPLIT_STORE_PREFIX: 'a/../b' }, 'LOGSPLIT_STORE_PREFIX')).toMatch(
      /must not contain \. or \.\./,
    );
    expect(problemOf({ LOGSPLIT_STORE_PREFIX: '/logs' }, 'LOGSPLIT_STORE_PREFIX')).toMatch(
      /relative key prefix/,
    );
  });

  it('reports several bad variables in one error', () => {
    const err = configError({
      LOGSPLIT_WRITER_SLOTS: 'x',
      KAFKA_BROKERS: 'localhost',
      REDIS_URL: 'nope',
      LOGSPLIT_CODEC: 'brotli',
      LOGSPLIT_FSYNC: 'maybe',
    });
    const names = err.problems.map((p) => p.slice(0, p.indexOf(':')));
    expect(names.sort()).toEqual(
      [
        'KAFKA_BROKERS',
        'LOGSPLIT_CODEC',
        'LOGSPLIT_FSYNC',
        'LOGSPLIT_WRITER_SLOTS',
        'REDIS_URL',
      ].sort(),
    );
    for (const p of err.problems) expect(err.message).toContain(p);
  });

  it('reports several cross-field problems in one error', () => {
    const err = configError({
      LOGSPLIT_CODEC_LEVEL: '12',
      LOGSPLIT_STORE_DRIVER: 'oss',
      LOGSPLIT_APP_ID_SOURCE: 'regex',
      LOGSPLIT_MAX_RECORD_BYTES: '2048',
      LOGSPLIT_MAX_CHUNK_BYTES: '2048',
    });
    const names = new Set(err.problems.map((p) => p.slice(0, p.indexOf(':'))));
    expect([...names].sort()).toEqual(
      [
        'LOGSPLIT_APP_ID_REGEX',
        'LOGSPLIT_CODEC_LEVEL',
        'LOGSPLIT_MAX_CHUNK_BYTES',
        'OSS_ACCESS_KEY_ID',
        'OSS_BUCKET',
        'OSS_ENDPOINT',
      ].sort(),
    );
  });
});

describe('observability settings', () => {
  const obs = (env: NodeJS.ProcessEnv) => loadConfig('test', env).observability;

  it('defaults: health 50051, metrics 9464, 50 app labels, tracing off without an endpoint', () => {
    expect(obs({})).toEqual({
      host: '0.0.0.0',
      healthPort: 50051,
      metricsPort: 9464,
      tracing: false,
      sampler: undefined,
      samplerRatio: undefined,
      appLabelLimit: 50,
      appLabelAllowList: undefined,
    });
  });

  it('tracing is on when an OTLP endpoint is set, unless switched off', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' };
    expect(obs(endpoint).tracing).toBe(true);
    expect(obs({ ...endpoint, LOGSPLIT_TRACING: 'off' }).tracing).toBe(false);
    expect(obs({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).tracing).toBe(false);
    expect(obs({ LOGSPLIT_TRACING: 'on' }).tracing).toBe(true);
  });

  it('reads ports (0 = any free port), the sampler and the allow-list', () => {
    const o = obs({
      LOGSPLIT_HEALTH_PORT: '0',
      LOGSPLIT_METRICS_PORT: '9999',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      LOGSPLIT_METRICS_APP_ALLOWLIST: 'billing, checkout,,',
    });
    expect(o).toMatchObject({
      healthPort: 0,
      metricsPort: 9999,
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
      appLabelAllowList: ['billing', 'checkout'],
    });
  });

  it.each([
    ['LOGSPLIT_HEALTH_PORT', '70000', 'must be <= 65535'],
    ['LOGSPLIT_METRICS_PORT', '-1', 'must be >= 0'],
    ['LOGSPLIT_TRACING', 'maybe', ''],
    ['OTEL_TRACES_SAMPLER', 'sometimes', ''],
    ['OTEL_TRACES_SAMPLER_ARG', '2', ''],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'jaeger:4318', 'must be an http(s) URL'],
  ])('rejects %s=%s', (name, value, message) => {
    expect(problemOf({ [name]: value }, name)).toContain(message);
  });
});
