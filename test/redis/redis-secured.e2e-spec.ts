import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { checkHealth } from '@logsplit/common/health';
import { archivedLinesByApp, conservationGaps } from '../support/archive-check';
import {
  createTopics,
  pipelineEnv,
  produceGoodRecords,
  testKafka,
  waitFor,
  waitForArchive,
} from '../support/pipeline';
import {
  adminClient,
  documentedRedisAcl,
  makeTlsFiles,
  RedisProcess,
  startRedisServer,
  TlsFiles,
} from '../support/redis-servers';
import { RunningService, startService } from '../support/services';

const RECORDS = 6_000;
const APPS = 60;

/**
 * The pipeline through a TLS-only redis-server as an ACL user holding exactly the permissions
 * docs/deploy.md lists; a wrong password, a missing permission and a wrong CA each make the
 * service NOT_SERVING with a reason naming the setting, and fixing them on the Redis side is
 * picked up without a restart and without losing or duplicating a record.
 */
describe('Redis over TLS as a least-privilege ACL user', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logsplit-redis-tls-'));
  const adminPassword = 'admin-pw-7c1e';
  const password = 'logsplit-pw-3fa9d2';
  const wrongPassword = 'stale-pw-81be04';
  let tls: TlsFiles;
  let server: RedisProcess;
  let admin: Redis;
  const services: RunningService[] = [];

  const redisEnv = (passwordFile: string, ca = tls.ca) => ({
    REDIS_URL: `rediss://127.0.0.1:${server.port}`,
    REDIS_USERNAME: 'logsplit',
    REDIS_PASSWORD_FILE: passwordFile,
    REDIS_TLS_CA_FILE: ca,
  });
  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), `${content}\n`);
    return join(dir, name);
  };
  const redisHealth = (s: RunningService) => checkHealth(`127.0.0.1:${s.healthPort}`, 'redis');
  const waitHealth = (s: RunningService, want: string, ms = 30_000) =>
    waitFor(`${s.name} redis ${want}`, async () => ((await redisHealth(s)) === want ? true : undefined), ms, 250); // prettier-ignore
  const waitLog = (s: RunningService, text: string) =>
    waitFor(`"${text}" in ${s.logFile}`, () => readFileSync(s.logFile, 'utf8').includes(text) || undefined, 30_000, 250); // prettier-ignore

  beforeAll(async () => {
    tls = makeTlsFiles(dir);
    server = await startRedisServer({
      dir,
      tls,
      config: [`user default on >${adminPassword} ~* &* +@all`],
    });
    admin = adminClient(server.port, { tls, password: adminPassword });
    const rules = documentedRedisAcl().split(/\s+/);
    await admin.call('ACL', 'SETUSER', 'logsplit', ...rules, `>${password}`);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    admin?.disconnect();
    await server?.stop();
  }, 60_000);

  it('runs the pipeline; WRONGPASS and NOPERM pause it with a reason, fixing them resumes it', async () => {
    const p = pipelineEnv({
      LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
      LOGSPLIT_SEGMENT_MAX_AGE_MS: '3000',
    });
    const kafka = testKafka();
    await createTopics(kafka, Object.values(p.topics), 3);
    const expected = await produceGoodRecords(kafka, p.topics.raw, RECORDS, APPS);
    const good = redisEnv(file('pw', password));
    services.push(await startService('splitter', { ...p.env, ...good }));
    services.push(await startService('uploader', { ...p.env, ...good }));
    // The compressor logs in with a password Redis does not (yet) accept.
    const compressor = await startService('compressor', {
      ...p.env,
      ...redisEnv(file('stale-pw', wrongPassword)),
    });
    services.push(compressor);
    await waitHealth(compressor, 'NOT_SERVING');
    await waitLog(compressor, 'REDIS_PASSWORD rejected by Redis (WRONGPASS, user logsplit)');
    expect(archivedLinesByApp(p).size).toBe(0);

    // Fixed on the Redis side (the user accepts the password the service has): it resumes.
    await admin.call('ACL', 'SETUSER', 'logsplit', `>${wrongPassword}`);
    await waitHealth(compressor, 'SERVING');
    await waitFor('some records archived', () => (archivedLinesByApp(p).size > 0 ? true : undefined), 60_000); // prettier-ignore

    // One permission taken away mid-run: NOT_SERVING names it; given back: SERVING again.
    await admin.call('ACL', 'SETUSER', 'logsplit', '-incr');
    await waitHealth(compressor, 'NOT_SERVING');
    await waitLog(
      compressor,
      "REDIS_USERNAME logsplit lacks a permission the services need (NOPERM may not run 'incr'",
    );
    await admin.call('ACL', 'SETUSER', 'logsplit', '+incr');
    await waitHealth(compressor, 'SERVING');

    await waitForArchive(p, RECORDS, 180_000, 1000);
    const gaps = conservationGaps(expected, archivedLinesByApp(p));
    expect(gaps).toEqual({ lost: 0, duplicated: 0, total: RECORDS });
    for (const s of services)
      expect(await checkHealth(`127.0.0.1:${s.healthPort}`)).toBe('SERVING');
    // Every service went through the ACL user over TLS (CLIENT LIST shows user and TLS port).
    const clients = String(await admin.call('CLIENT', 'LIST'));
    for (const name of ['compressor', 'uploader']) {
      expect(clients).toMatch(new RegExp(`name=logsplit-${name}\\b.* user=logsplit`));
    }
  }, 300_000);

  it('a CA that did not sign the certificate: NOT_SERVING naming REDIS_TLS_CA_FILE', async () => {
    const other = makeTlsFiles(dir, 'other');
    const p = pipelineEnv();
    const s = await startService('compressor', {
      ...p.env,
      ...redisEnv(file('pw2', password), other.ca),
    });
    services.push(s);
    await waitHealth(s, 'NOT_SERVING');
    await waitLog(s, 'REDIS_TLS_CA_FILE does not verify the certificate of 127.0.0.1:');
    await s.stop();
  }, 60_000);

  it('a client certificate (mTLS): SERVING with REDIS_TLS_CERT_FILE/KEY_FILE, NOT_SERVING without', async () => {
    const mtls = await startRedisServer({ dir, tls, mtls: true, config: [`user default on >${adminPassword} ~* &* +@all`] }); // prettier-ignore
    try {
      const admin2 = adminClient(mtls.port, { tls, password: adminPassword, mtls: true });
      await admin2.call('ACL', 'SETUSER', 'logsplit', ...documentedRedisAcl().split(/\s+/), `>${password}`); // prettier-ignore
      admin2.disconnect();
      const p = pipelineEnv();
      const env = { ...p.env, ...redisEnv(file('pw3', password)), REDIS_URL: `rediss://127.0.0.1:${mtls.port}` }; // prettier-ignore
      const withCert = await startService('compressor', { ...env, REDIS_TLS_CERT_FILE: tls.cert, REDIS_TLS_KEY_FILE: tls.key }); // prettier-ignore
      services.push(withCert);
      await waitHealth(withCert, 'SERVING');
      const without = await startService('compressor', env);
      services.push(without);
      await waitHealth(without, 'NOT_SERVING');
      await waitLog(
        without,
        'Redis requires a client certificate: set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE',
      );
      await Promise.all([withCert.stop(), without.stop()]);
    } finally {
      await mtls.stop();
    }
  }, 90_000);
});
