import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import type { KafkaSecurityConfig } from '../config';
import { describeKafkaFailure, isKafkaAccessFailure, KafkaFailureContext } from './kafka-failure';

const SCRAM: KafkaSecurityConfig = {
  protocol: 'SASL_SSL',
  ssl: { caFile: '/etc/kafka/ca.pem', checkHostname: true },
  sasl: { mechanism: 'SCRAM-SHA-512', username: 'logsplit', password: 'pw-never-shown' },
};
const ctx = (security: KafkaSecurityConfig = SCRAM): KafkaFailureContext => ({
  brokers: ['b1:9093'],
  security,
  readTopics: ['logs.raw'],
  writeTopics: ['logs.by-app', 'logs.dlq'],
  group: 'logsplit-splitter',
});
/** A Node TLS/socket error as kafkajs wraps it: a connection error, retried, given up. */
function wrapped(message: string, code: string): Error {
  const cause = Object.assign(new Error(message), { code });
  const conn = new KafkaJSConnectionError(`Connection error: ${message}`, { broker: 'b1:9093' });
  (conn as { cause?: unknown }).cause = cause;
  return new KafkaJSNumberOfRetriesExceeded(conn, { retryCount: 5, retryTime: 1000 });
}
/** kafkajs' typings declare no constructor arguments for it. */
const saslError = (message: string) =>
  new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)(message);
const protocolError = (type: string) =>
  new KafkaJSProtocolError({ type, code: 0, retriable: false, message: type } as never);

describe('describeKafkaFailure', () => {
  it('names KAFKA_SASL_PASSWORD, the mechanism and the user, never the password', () => {
    const err = saslError(
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
    );
    const reason = describeKafkaFailure(err, ctx());
    expect(reason).toBe(
      'KAFKA_SASL_PASSWORD rejected by the broker (SCRAM-SHA-512, user logsplit)',
    );
    expect(isKafkaAccessFailure(err)).toBe(true);
  });

  it('names KAFKA_SASL_MECHANISM when the listener does not offer it', () => {
    expect(describeKafkaFailure(protocolError('UNSUPPORTED_SASL_MECHANISM'), ctx())).toBe(
      "KAFKA_SASL_MECHANISM SCRAM-SHA-512 is not enabled on the broker's listener",
    );
  });

  it('names the token file for OAUTHBEARER, with the expiry when the token is expired', () => {
    const security: KafkaSecurityConfig = {
      protocol: 'SASL_SSL',
      ssl: { checkHostname: true },
      sasl: { mechanism: 'OAUTHBEARER', tokenFile: '/run/token' },
    };
    const err = saslError('SASL OAUTHBEARER: failed');
    expect(describeKafkaFailure(err, { ...ctx(security), tokenExpiresAt: 0 })).toBe(
      'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE token rejected by the broker (expired 1970-01-01T00:00:00.000Z)',
    );
  });

  it('tells a wrong CA, a host name mismatch, a missing client certificate and no TLS apart', () => {
    expect(
      describeKafkaFailure(
        wrapped('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
        ctx(),
      ),
    ).toBe('broker certificate is not signed by KAFKA_SSL_CA_FILE (/etc/kafka/ca.pem)');
    expect(
      describeKafkaFailure(
        wrapped(
          "Hostname/IP does not match certificate's altnames",
          'ERR_TLS_CERT_ALTNAME_INVALID',
        ),
        ctx(),
      ),
    ).toMatch(/^broker certificate does not name the host in KAFKA_BROKERS \(b1:9093\)/);
    expect(
      describeKafkaFailure(
        wrapped('ssl/tls alert bad certificate', 'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE'),
        ctx(),
      ),
    ).toBe('broker requires a client certificate: set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE');
    expect(
      describeKafkaFailure(wrapped('wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER'), ctx()),
    ).toBe(
      "KAFKA_SECURITY_PROTOCOL=SASL_SSL but the broker's listener at b1:9093 does not speak TLS",
    );
    expect(
      describeKafkaFailure(wrapped('connect ECONNREFUSED 127.0.0.1:9093', 'ECONNREFUSED'), ctx()),
    ).toBe('KAFKA_BROKERS unreachable (b1:9093: ECONNREFUSED)');
  });

  it('names the missing permission of an authorization failure', () => {
    const d = (type: string, extra: Partial<KafkaFailureContext> = {}) =>
      describeKafkaFailure(protocolError(type), { ...ctx(), ...extra });
    expect(d('GROUP_AUTHORIZATION_FAILED')).toBe(
      'principal User:logsplit lacks READ on group logsplit-splitter',
    );
    expect(d('TOPIC_AUTHORIZATION_FAILED')).toBe(
      'principal User:logsplit lacks READ on topic logs.raw or WRITE on topic logs.by-app, logs.dlq',
    );
    expect(d('CLUSTER_AUTHORIZATION_FAILED')).toBe(
      'principal User:logsplit lacks IDEMPOTENT_WRITE on the cluster',
    );
    expect(d('CLUSTER_AUTHORIZATION_FAILED', { creatingTopics: true })).toMatch(
      /lacks CREATE on the cluster/,
    );
    expect(d('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', { transactionalId: 'splitter-0' })).toBe(
      'principal User:logsplit lacks WRITE on transactional id splitter-0',
    );
    expect(isKafkaAccessFailure(protocolError('GROUP_AUTHORIZATION_FAILED'))).toBe(true);
    expect(isKafkaAccessFailure(protocolError('NOT_LEADER_OR_FOLLOWER'))).toBe(false);
  });

  it('keeps kafkajs message for anything else', () => {
    expect(describeKafkaFailure(new Error('odd'), ctx())).toBe('kafka: odd');
  });
});
