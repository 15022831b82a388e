import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from './config-error';
import { loadConfig } from './config';
import { loadKafkaSecurity, pickKafkaSecurityEnv } from './kafka-security';
import { forgetSecrets, redactSecrets } from './secrets';

const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig('test', env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('Kafka security settings', () => {
  let dir: string;
  let ca: string;
  let cert: string;
  let key: string;
  beforeEach(() => {
    forgetSecrets();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-sec-'));
    ca = path.join(dir, 'ca.pem');
    cert = path.join(dir, 'client.pem');
    key = path.join(dir, 'client.key');
    fs.writeFileSync(ca, PEM_CERT);
    fs.writeFileSync(cert, PEM_CERT);
    fs.writeFileSync(key, PEM_KEY);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('defaults to PLAINTEXT with neither TLS nor SASL', () => {
    expect(loadConfig('test', {}).kafka.security).toEqual({ protocol: 'PLAINTEXT' });
  });

  it('builds SASL_SSL with SCRAM from the password file, checking host names', () => {
    const pw = path.join(dir, 'pw');
    fs.writeFileSync(pw, 'hunter2-secret\n');
    const security = loadConfig('test', {
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'logsplit',
      KAFKA_SASL_PASSWORD_FILE: pw,
    }).kafka.security;
    expect(security).toEqual({
      protocol: 'SASL_SSL',
      ssl: { caFile: ca, checkHostname: true },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'logsplit', password: 'hunter2-secret' },
    });
    expect(redactSecrets('password hunter2-secret')).toBe('password [redacted]');
  });

  it('names each variable that is missing, contradictory or unreadable', () => {
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })).toEqual([
      'KAFKA_SASL_MECHANISM: required with KAFKA_SECURITY_PROTOCOL=SASL_SSL',
    ]);
    expect(
      problems({ KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'PLAIN' }),
    ).toEqual([
      'KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=PLAIN',
      'KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM=PLAIN',
    ]);
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: cert })).toEqual([
      'KAFKA_SSL_KEY_FILE: required with KAFKA_SSL_CERT_FILE (the client key)',
    ]);
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: key })).toEqual([
      `KAFKA_SSL_CA_FILE: ${JSON.stringify(key)} holds no PEM CERTIFICATE`,
    ]);
    expect(
      problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: path.join(dir, 'nope') })[0],
    ).toMatch(/^KAFKA_SSL_CA_FILE: cannot read ".*nope" \(ENOENT\)$/);
    expect(problems({ KAFKA_SSL_CA_FILE: ca })).toEqual([
      'KAFKA_SSL_CA_FILE: only used with KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL',
    ]);
    expect(
      problems({
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
        KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: path.join(dir, 'token'),
      }),
    ).toEqual([`KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: cannot read "${path.join(dir, 'token')}"`]);
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'TLS' })[0]).toMatch(/^KAFKA_SECURITY_PROTOCOL: /);
  });

  it('never prints the SASL password in a config error', () => {
    const err = problems({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
      KAFKA_SASL_PASSWORD: 'do-not-print-me',
    }).join('\n');
    expect(err).toContain('KAFKA_SASL_PASSWORD: not used with KAFKA_SASL_MECHANISM=OAUTHBEARER');
    expect(err).not.toContain('do-not-print-me');
  });

  it('turns host name checking off only when told to', () => {
    const base = { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: ca };
    expect(loadKafkaSecurity(base).ssl?.checkHostname).toBe(true);
    expect(
      loadKafkaSecurity({ ...base, KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM: 'none' }).ssl
        ?.checkHostname,
    ).toBe(false);
  });

  it('hands on only the Kafka security variables, with their _FILE forms', () => {
    expect(
      pickKafkaSecurityEnv({
        KAFKA_BROKERS: 'b:1',
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_PASSWORD_FILE: '/s/pw',
        KAFKA_SASL_USERNAME: '',
      }),
    ).toEqual({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_PASSWORD_FILE: '/s/pw' });
  });
});
