// Kafka client security against a real broker with secured listeners started by the test:
// SASL_SSL + SCRAM-SHA-512, and mTLS (SSL with client certificates), each with a CA made for the
// run. Wrong settings are refused with a reason naming them; the conservation run goes through
// both; a wrong password keeps the services up and NOT_SERVING, never printed, until fixed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@logsplit/common/config';
import { checkHealth } from '@logsplit/common/health/check-health';
import { kafkaProbe } from '@logsplit/common';
import { generateGoodRecords } from '@logsplit/workload';
import { conservationRun } from './support/conservation';
import {
  archivedRecords,
  createTopics,
  pipelineEnv,
  testKafka,
  waitFor,
  waitForArchive,
} from './support/pipeline';
import { startSecuredKafka, SecuredKafka } from './support/secured-kafka';
import { sendTransactionally } from './support/transactional-send';
import { RunningService, startService } from './support/services';

const tmp = mkdtempSync(join(tmpdir(), 'logsplit-kafka-sec-'));

/** What the service's Kafka health probe reports with these client settings: '' = reachable. */
async function probeReason(env: Record<string, string>): Promise<string> {
  const probe = kafkaProbe(loadConfig('test', env).kafka);
  try {
    await probe.probe();
    return '';
  } catch (err) {
    return (err as Error).message;
  } finally {
    await probe.close();
  }
}

function file(name: string, content: string): string {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
}

/** An unsigned JWT, as Kafka's unsecured OAUTHBEARER validator accepts. */
function jwt(sub: string, expSeconds: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ sub, iat: expSeconds - 3600, exp: expSeconds })}.`;
}

/** A CA that signed nothing the broker has. */
function otherCa(): string {
  const ca = join(tmp, 'other-ca.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other',
    '-keyout', join(tmp, 'other-ca.key'), '-out', ca,
  ], { stdio: 'ignore' }); // prettier-ignore
  return ca;
}

function report(line: string): void {
  process.stderr.write(`kafka-security: ${line}\n`);
}

describe('Kafka over SASL_SSL with SCRAM-SHA-512', () => {
  let broker: SecuredKafka;
  beforeAll(async () => {
    broker = await startSecuredKafka('sasl_ssl');
  }, 120_000);
  afterAll(() => broker?.stop(), 60_000);

  it('names the setting the broker refused', async () => {
    const env = broker.env;
    const nowS = Math.floor(Date.now() / 1000);
    expect(await probeReason(env)).toBe('');
    expect(await probeReason({ ...env, KAFKA_SASL_PASSWORD_FILE: file('pw', 'not-it') })).toBe(
      'KAFKA_SASL_PASSWORD rejected by the broker (SCRAM-SHA-512, user logsplit)',
    );
    expect(await probeReason({ ...env, KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256' })).toBe(
      "KAFKA_SASL_MECHANISM SCRAM-SHA-256 is not enabled on the broker's listener",
    );
    expect(await probeReason({ ...env, KAFKA_SSL_CA_FILE: otherCa() })).toBe(
      `broker certificate is not signed by KAFKA_SSL_CA_FILE (${join(tmp, 'other-ca.pem')})`,
    );
    const { KAFKA_BROKERS } = env;
    expect(await probeReason({ KAFKA_BROKERS })).toBe(
      `broker at ${KAFKA_BROKERS} closed the connection: does its listener expect KAFKA_SECURITY_PROTOCOL=PLAINTEXT?`,
    );
    const oauth = (token: string) => ({
      KAFKA_BROKERS,
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SSL_CA_FILE: env.KAFKA_SSL_CA_FILE,
      KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
      KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: file('token', token),
    });
    expect(await probeReason(oauth(jwt('logsplit', nowS + 3600)))).toBe('');
    expect(await probeReason(oauth(jwt('logsplit', nowS - 60)))).toBe(
      `KAFKA_SASL_OAUTHBEARER_TOKEN_FILE token rejected by the broker (expired ${new Date((nowS - 60) * 1000).toISOString()})`,
    );
  }, 60_000);

  it('conserves 50,000 records over 200 apps through SASL_SSL', async () => {
    const r = await conservationRun(50_000, 200, {
      kafkaBrokers: broker.env.KAFKA_BROKERS,
      kafkaSecurity: broker.env,
    });
    report(`SASL_SSL/SCRAM-SHA-512 conservation: ${r.summary}`);
  }, 460_000);

  it('stays up NOT_SERVING on a wrong password, never prints it, and resumes once it is right', async () => {
    const wrong = `wrong-${Date.now().toString(36)}-secret`;
    const right = readFileSync(broker.env.KAFKA_SASL_PASSWORD_FILE, 'utf8');
    const p = pipelineEnv(
      { LOGSPLIT_SEGMENT_MAX_AGE_MS: '5000', LOGSPLIT_UPLOAD_INTERVAL_MS: '1000' },
      {
        kafkaBrokers: broker.env.KAFKA_BROKERS,
        kafkaSecurity: { ...broker.env, KAFKA_SASL_PASSWORD_FILE: file('wrong-pw', wrong) },
      },
    );
    const kafka = testKafka(broker.env);
    await createTopics(kafka, Object.values(p.topics), 3);
    const records = 3_000;
    const messages = generateGoodRecords(records, 30).map((r) => ({ value: r.value }));
    await sendTransactionally(kafka, p.topics.raw, messages);
    const services: RunningService[] = [];
    try {
      for (const name of ['splitter', 'compressor', 'uploader'] as const) {
        services.push(await startService(name, p.env, { untilHealth: true }));
      }
      const reason = 'KAFKA_SASL_PASSWORD rejected by the broker (SCRAM-SHA-512, user logsplit)';
      for (const s of services) {
        await waitFor(`${s.name} reports the password`, () =>
          readFileSync(s.logFile, 'utf8').includes(`kafka NOT_SERVING: ${reason}`) || undefined,
          30_000,
        ); // prettier-ignore
        expect(await checkHealth(`127.0.0.1:${s.healthPort}`, 'kafka')).toBe('NOT_SERVING');
        expect(await checkHealth(`127.0.0.1:${s.healthPort}`)).toBe('NOT_SERVING');
      }
      expect(archivedRecords(p)).toBe(0);

      // The operator fixes the credential on the broker; the services notice by themselves.
      const fixedAt = Date.now();
      await broker.setUser('logsplit', wrong);
      await waitForArchive(p, records, 180_000, 1000);
      report(
        `wrong password → archived ${records} records ${Date.now() - fixedAt} ms after the fix`,
      );
      expect(archivedRecords(p)).toBe(records);
      for (const s of services) {
        expect(await checkHealth(`127.0.0.1:${s.healthPort}`, 'kafka')).toBe('SERVING');
        const out = readFileSync(s.logFile, 'utf8');
        expect(out).not.toContain(wrong);
        expect(out).not.toContain(right);
      }
    } finally {
      await Promise.all(services.map((s) => s.stop()));
    }
  }, 300_000);
});

describe('Kafka over mTLS (SSL with client certificates)', () => {
  let broker: SecuredKafka;
  beforeAll(async () => {
    broker = await startSecuredKafka('ssl');
  }, 120_000);
  afterAll(() => broker?.stop(), 60_000);

  it('asks for the client certificate when it is missing', async () => {
    expect(await probeReason(broker.env)).toBe('');
    const { KAFKA_SSL_CERT_FILE: _c, KAFKA_SSL_KEY_FILE: _k, ...noCert } = broker.env;
    expect(await probeReason(noCert)).toBe(
      'broker requires a client certificate: set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
    );
  }, 60_000);

  it('conserves 50,000 records over 200 apps through mTLS', async () => {
    const r = await conservationRun(50_000, 200, {
      kafkaBrokers: broker.env.KAFKA_BROKERS,
      kafkaSecurity: broker.env,
    });
    report(`mTLS conservation: ${r.summary}`);
  }, 460_000);
});
