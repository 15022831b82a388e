import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECRET_SETTINGS } from '@logsplit/common';
import { checkHealth } from '@logsplit/common/health/check-health';
import { OssTestServer } from '@logsplit/testing';
import { IndexedRecords } from './support/oss-bucket';
import { OtlpReceiver } from './support/otlp-receiver';
import {
  createTopics,
  pipelineEnv,
  produceGoodRecords,
  testKafka,
  waitFor,
} from './support/pipeline';
import {
  documentedRedisAcl,
  RedisProcess,
  adminClient,
  startRedisServer,
} from './support/redis-servers';
import { SecuredKafka, startSecuredKafka } from './support/secured-kafka';
import { RunningService, ServiceName, startService } from './support/services';

const RECORDS = 2_000;
const APPS = 20;

/**
 * Every secret setting (SECRET_SETTINGS, whatever it lists when this runs) gets a distinctive
 * value, given as `<NAME>_FILE`; the Redis password also inside REDIS_URL, and a wrong one to a
 * second compressor so that login errors are logged. The pipeline runs (OSS test server checking
 * signatures made with the secret, Redis ACL user, tracing on), and then no log line, metric
 * scrape, exported span or health answer holds any of the values.
 */
describe('no secret value is ever printed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logsplit-secrets-'));
  const tag = randomBytes(4).toString('hex');
  const value = (name: string) => `S3cret-${name}-${tag}`;
  const secrets = Object.fromEntries(SECRET_SETTINGS.map((n) => [n, value(n)]));
  const urlPassword = value('REDIS_URL');
  const wrongPassword = value('WRONG_REDIS_PASSWORD');
  const everySecret = [...Object.values(secrets), urlPassword, wrongPassword];
  const otlp = new OtlpReceiver();
  const services: RunningService[] = [];
  const logFiles: string[] = [];
  let redis: RedisProcess;
  let oss: OssTestServer;
  let broker: SecuredKafka;
  /** The services' Kafka settings: SASL_SSL, and a client key encrypted with its passphrase. */
  let kafkaEnv: Record<string, string>;

  /** `<NAME>_FILE` for every secret setting (but the ones in `except`), files written here. */
  const secretFiles = (except: string[] = []) =>
    Object.fromEntries(
      SECRET_SETTINGS.filter((n) => !except.includes(n)).map((n) => {
        const path = join(dir, n);
        writeFileSync(path, `${secrets[n]}\n`);
        return [`${n}_FILE`, path];
      }),
    );

  beforeAll(async () => {
    redis = await startRedisServer({ dir, config: ['user default on nopass ~* &* +@all'] });
    const admin = adminClient(redis.port);
    const rules = documentedRedisAcl().split(/\s+/);
    const passwords = [secrets.REDIS_PASSWORD, urlPassword].map((pw) => `>${pw}`);
    await admin.call('ACL', 'SETUSER', 'logsplit', ...rules, ...passwords);
    admin.disconnect();
    oss = await OssTestServer.start({ accessKeySecret: secrets.OSS_ACCESS_KEY_SECRET });
    // Kafka's secrets in real use: the SCRAM password logs in, the key passphrase unlocks the key.
    broker = await startSecuredKafka('sasl_ssl', [
      '--user',
      `logsplit:${secrets.KAFKA_SASL_PASSWORD}`,
    ]);
    const [key, cert] = [join(dir, 'client-key.pem'), join(dir, 'client-cert.pem')];
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-days', '1', '-subj', '/CN=logsplit',
      '-keyout', key, '-out', cert, '-passout', `pass:${secrets.KAFKA_SSL_KEY_PASSWORD}`,
    ], { stdio: 'ignore' }); // prettier-ignore
    // Its KAFKA_SASL_PASSWORD_FILE gives way to the test's own secret files (same password).
    kafkaEnv = { ...broker.env, KAFKA_SSL_CERT_FILE: cert, KAFKA_SSL_KEY_FILE: key };
  }, 120_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all([redis?.stop(), oss?.close(), otlp.stop(), broker?.stop()]);
  }, 60_000);

  it('not in logs, metrics, spans or health, also when logins fail', async () => {
    const endpoint = await otlp.start();
    const ossEnv = { ...oss.env(), OSS_ACCESS_KEY_SECRET: '' };
    const p = pipelineEnv({
      ...ossEnv,
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      REDIS_USERNAME: 'logsplit',
      LOGSPLIT_TRACING: 'on',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      LOGSPLIT_SEGMENT_MAX_AGE_MS: '1000',
      LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
      ...kafkaEnv,
    });
    delete p.env.OSS_ACCESS_KEY_SECRET;
    const kafka = testKafka(broker.env);
    await createTopics(kafka, Object.values(p.topics), 2);
    await produceGoodRecords(kafka, p.topics.raw, RECORDS, APPS);
    const start = async (name: ServiceName, env: Record<string, string>) => {
      const s = await startService(name, env);
      services.push(s);
      logFiles.push(s.logFile);
      return s;
    };
    await start('splitter', { ...p.env, ...secretFiles() });
    await start('compressor', { ...p.env, ...secretFiles() });
    // The uploader has its Redis user and password inside REDIS_URL instead.
    const { REDIS_USERNAME: _inUrl, ...withoutUser } = p.env;
    await start('uploader', {
      ...withoutUser,
      ...secretFiles(['REDIS_PASSWORD']),
      REDIS_URL: `redis://logsplit:${urlPassword}@127.0.0.1:${redis.port}`,
    });
    // A compressor with a wrong password (own group and spool): WRONGPASS errors, NOT_SERVING.
    const bad = await start('compressor', {
      ...p.env,
      ...secretFiles(['REDIS_PASSWORD']),
      REDIS_PASSWORD: wrongPassword,
      LOGSPLIT_COMPRESSOR_GROUP: `${p.env.LOGSPLIT_COMPRESSOR_GROUP}-bad`,
      LOGSPLIT_SPOOL_DIR: join(dir, 'bad-spool'),
    });
    // A config error that would show REDIS_URL: the service exits, its output is searched too.
    await expect(
      startService('splitter', {
        ...p.env,
        REDIS_URL: `http://logsplit:${urlPassword}@127.0.0.1:${redis.port}`,
      }).catch((err: Error) => {
        logFiles.push(/see (\S+):/.exec(err.message)![1]);
        throw err;
      }),
    ).rejects.toThrow('exited');

    const archived = new IndexedRecords(oss, p.prefix);
    await waitFor('every record in the bucket', () => (archived.count() >= RECORDS ? true : undefined), 120_000); // prettier-ignore
    await waitFor('spans of every service', () => (['splitter', 'compressor', 'uploader'].every((n) => otlp.spans.some((s) => s.service.includes(n))) ? true : undefined), 30_000); // prettier-ignore
    const badLog = () => readFileSync(bad.logFile, 'utf8');
    await waitFor('the login error reason', () => (badLog().includes('REDIS_PASSWORD rejected by Redis (WRONGPASS, user logsplit)') ? true : undefined), 30_000); // prettier-ignore

    const printed: Record<string, string> = {};
    for (const s of services) {
      const res = await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`);
      printed[`metrics of ${s.id}`] = await res.text();
      const health: Record<string, string> = {};
      for (const c of ['', 'kafka', 'redis', 'store']) {
        health[c] = await checkHealth(`127.0.0.1:${s.healthPort}`, c);
      }
      printed[`health of ${s.id}`] = JSON.stringify(health);
    }
    expect(JSON.parse(printed[`health of ${bad.id}`])).toMatchObject({ redis: 'NOT_SERVING' });
    await Promise.all(services.map((s) => s.stop()));
    await new Promise((r) => setTimeout(r, 500)); // the last span batches
    printed.spans = otlp.bodies.join('\n');
    for (const f of logFiles) printed[`log ${f}`] = readFileSync(f, 'utf8');

    // The search would find them: each kind of output was produced and names what it should.
    expect(otlp.spans.length).toBeGreaterThan(0);
    expect(Object.values(printed).join('\n')).toContain('http://logsplit:[redacted]@127.0.0.1');
    const found = Object.entries(printed).flatMap(([where, text]) =>
      everySecret.filter((v) => text.includes(v)).map((v) => `${v} in ${where}`),
    );
    expect(found).toEqual([]);
    process.stderr.write(
      `secrets: ${everySecret.length} values (${SECRET_SETTINGS.join(', ')}, REDIS_URL, a wrong REDIS_PASSWORD) searched in ${logFiles.length} logs, ${services.length} metric scrapes and health answers, ${otlp.spans.length} spans: none found\n`,
    );
  }, 240_000);
});
