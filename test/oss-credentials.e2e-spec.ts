import { readFileSync } from 'node:fs';
import { checkHealth } from '@logsplit/common/health/check-health';
import { CredentialsTestServer } from '@logsplit/common/storage/testing/credentials-test-server';
import { OssTestServer } from '@logsplit/common/storage/testing/oss-test-server';
import { IndexedRecords } from './support/oss-bucket';
import {
  createTopics,
  PipelineEnv,
  pipelineEnv,
  produceGoodRecords,
  spoolSegments,
  testKafka,
  waitFor,
} from './support/pipeline';
import { RunningService, startService } from './support/services';

const RECORDS = 2000;
const APPS = 10;

/** A pipeline whose store is the OSS test server; `uploaderEnv` says how the uploader signs. */
async function ossPipeline(oss: OssTestServer, seed: number) {
  const p = pipelineEnv({
    LOGSPLIT_SEGMENT_MAX_AGE_MS: '2000',
    LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
    LOGSPLIT_WRITER_SLOTS: '2',
    LOGSPLIT_SEGMENT_MAX_BYTES: '8192',
    LOGSPLIT_STORE_DRIVER: 'oss',
    OSS_ENDPOINT: oss.endpoint,
    OSS_REGION: oss.region,
    OSS_BUCKET: oss.bucket,
    LOGSPLIT_STORE_RETRY_BASE_MS: '100',
    LOGSPLIT_STORE_RETRY_MAX_MS: '1000',
  });
  const kafka = testKafka();
  await createTopics(kafka, Object.values(p.topics), 3);
  await produceGoodRecords(kafka, p.topics.raw, RECORDS, APPS, seed);
  return p;
}

/** Every record indexed exactly once in OSS, and nothing left on the spool. */
function archived(oss: OssTestServer, p: PipelineEnv, timeoutMs: number) {
  const indexed = new IndexedRecords(oss, p.prefix);
  return waitFor(
    `${RECORDS} records indexed in OSS and the spool drained`,
    () => (indexed.count() >= RECORDS && spoolSegments(p.spoolDir).length === 0) || undefined,
    timeoutMs,
    500,
  ).then(() => indexed.count());
}

describe('uploader on ECS RAM role keys that rotate every 2 s (expiring 5 s after issue)', () => {
  let oss: OssTestServer;
  let creds: CredentialsTestServer;
  const services: RunningService[] = [];

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await creds?.close();
    await oss?.close();
  }, 60_000);

  it('uploads every segment with no request refused, encrypted (KMS) and in IA', async () => {
    oss = await OssTestServer.start();
    creds = await CredentialsTestServer.start(oss, { rotateEveryMs: 2_000, lifetimeMs: 5_000 });
    const p = await ossPipeline(oss, 21);
    for (const name of ['splitter', 'compressor'] as const) {
      services.push(await startService(name, p.env));
    }
    const t0 = Date.now();
    services.push(
      await startService('uploader', {
        ...p.env,
        ALIBABA_CLOUD_ECS_METADATA: creds.roleName,
        LOGSPLIT_ECS_METADATA_ENDPOINT: creds.endpoint,
        OSS_SERVER_SIDE_ENCRYPTION: 'KMS',
        OSS_SSE_KMS_KEY_ID: 'kms-key-logsplit',
        OSS_STORAGE_CLASS: 'IA',
      }),
    );
    expect(await archived(oss, p, 180_000)).toBe(RECORDS);
    // Keep uploading across more rotations: a late segment, then let a few more keys go by.
    await waitFor('6 key rotations', () => creds.issued.length >= 6 || undefined, 30_000, 500);

    const puts = oss.requests.filter((r) => r.op === 'PutObject');
    const refused = oss.requests.filter((r) => r.status === 403 || r.status >= 500);
    expect(refused).toEqual([]);
    expect(puts.length).toBeGreaterThan(0);
    expect(puts.every((r) => r.status === 200)).toBe(true);
    expect(puts.every((r) => r.sse === 'KMS' && r.kmsKeyId === 'kms-key-logsplit')).toBe(true);
    expect(puts.every((r) => r.storageClass === 'IA')).toBe(true);
    const keysUsed = new Set(oss.requests.map((r) => r.accessKeyId));
    expect(keysUsed.size).toBeGreaterThanOrEqual(3);
    expect([...keysUsed].every((k) => k?.startsWith('STS.'))).toBe(true);
    const log = readFileSync(services[2].logFile, 'utf8');
    expect(log).not.toMatch(/upload pass failed|; retry \d+\/\d+ in|store NOT_SERVING/);
    // Secrets and tokens fetched at run time never reach the log.
    for (const k of creds.issued) {
      expect(log).not.toContain(k.AccessKeySecret);
      expect(log).not.toContain(k.SecurityToken);
    }

    // The metadata service goes away: once the last keys expire the uploader says so, and
    // comes back by itself when it returns.
    const uploader = services[2];
    const address = `127.0.0.1:${uploader.healthPort}`;
    creds.fail(true);
    await waitFor(
      'store NOT_SERVING naming ALIBABA_CLOUD_ECS_METADATA',
      () =>
        /store NOT_SERVING: ALIBABA_CLOUD_ECS_METADATA: GET http:\/\/127\.0\.0\.1:\d+\/latest\/meta-data\/ram\/security-credentials\/logsplit-uploader answered HTTP 503/.test(
          readFileSync(uploader.logFile, 'utf8'),
        ) || undefined,
      30_000,
      500,
    );
    expect(await checkHealth(address, 'store')).toBe('NOT_SERVING');
    creds.fail(false);
    await waitFor(
      'store SERVING again',
      async () => (await checkHealth(address, 'store')) === 'SERVING' || undefined,
      30_000,
      500,
    );
    process.stderr.write(
      `oss credentials: ${RECORDS} records in ${puts.length} puts over ${(Date.now() - t0) / 1000} s, ` +
        `${creds.issued.length} key sets issued, ${keysUsed.size} used, 0 refused\n`,
    );
  }, 300_000);
});

describe('uploader with a secret OSS refuses', () => {
  let oss: OssTestServer;
  const services: RunningService[] = [];

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await oss?.close();
  }, 60_000);

  it('stays up NOT_SERVING naming OSS_ACCESS_KEY_SECRET, keeps the spool, resumes once fixed', async () => {
    oss = await OssTestServer.start({ accessKeySecret: 'the-secret-ram-knows' });
    const p = await ossPipeline(oss, 22);
    for (const name of ['splitter', 'compressor'] as const) {
      services.push(await startService(name, p.env));
    }
    const wrong = 'a-secret-from-last-year';
    const uploader = await startService('uploader', {
      ...p.env,
      OSS_ACCESS_KEY_ID: oss.accessKeyId,
      OSS_ACCESS_KEY_SECRET: wrong,
    });
    services.push(uploader);
    const address = `127.0.0.1:${uploader.healthPort}`;
    const reason = 'OSS_ACCESS_KEY_SECRET rejected by OSS (SignatureDoesNotMatch)';
    await waitFor(
      'the reason in the log',
      () =>
        readFileSync(uploader.logFile, 'utf8').includes(`store NOT_SERVING: ${reason}`) ||
        undefined,
      60_000,
      500,
    );
    // Segments get sealed and wait on the spool; nothing is archived, the process stays up.
    await waitFor(
      'sealed segments waiting',
      () => spoolSegments(p.spoolDir).length > 0 || undefined,
      60_000,
      500,
    );
    const badFrom = Date.now();
    const before = oss.requests.length;
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await checkHealth(address, 'store')).toBe('NOT_SERVING');
    expect(await checkHealth(address)).toBe('NOT_SERVING');
    expect(uploader.proc.exitCode).toBeNull();
    expect(oss.keys()).toEqual([]);
    // Backoff, not a hot loop: a probe a second plus a pass a second, each a few requests.
    const perSecond = (oss.requests.length - before) / ((Date.now() - badFrom) / 1000);
    expect(perSecond).toBeLessThan(20);
    const log = readFileSync(uploader.logFile, 'utf8');
    expect(log).not.toContain(wrong);
    expect(log.split(`store NOT_SERVING: ${reason}`).length - 1).toBe(1); // said once, not per probe

    oss.setKey(oss.accessKeyId, wrong); // the operator fixes it (here: RAM takes the Secret's value)
    expect(await archived(oss, p, 180_000)).toBe(RECORDS);
    expect(await checkHealth(address, 'store')).toBe('SERVING');
    process.stderr.write(
      `oss bad secret: NOT_SERVING (${reason}), ${perSecond.toFixed(1)} requests/s while refused, all ${RECORDS} records archived after the fix\n`,
    );
  }, 300_000);
});
