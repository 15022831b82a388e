import { readFileSync } from 'node:fs';
import type { KafkaSecurityConfig } from '../config';
import { jwtExpiry } from './oauthbearer-token';

/** What the failed client was doing, so an authorization failure can name the permission. */
export interface KafkaFailureContext {
  brokers: string[];
  security: KafkaSecurityConfig;
  /** Topics the service consumes (READ) and produces to (WRITE). */
  readTopics?: string[];
  writeTopics?: string[];
  group?: string;
  transactionalId?: string;
  /** The failure came from creating topics (CREATE on the cluster or topics). */
  creatingTopics?: boolean;
  /** When the OAUTHBEARER token in hand expires (ms since the epoch). */
  tokenExpiresAt?: number;
}

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string | number;
  type?: string;
  cause?: unknown;
  originalError?: unknown;
}

/** The error and the errors it wraps (kafkajs' retries, connection errors wrapping Node's). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let e = err as ErrorLike | undefined;
  while (e && typeof e === 'object' && out.length < 10 && !out.includes(e)) {
    out.push(e);
    e = (e.cause ?? e.originalError) as ErrorLike | undefined;
  }
  return out;
}

function principal(security: KafkaSecurityConfig): string {
  if (security.sasl?.username) return `principal User:${security.sasl.username}`;
  if (security.ssl?.certFile) return 'the principal of KAFKA_SSL_CERT_FILE';
  return 'the principal';
}

const list = (names: string[] | undefined) => (names ?? []).join(', ') || '?';

/**
 * The one mapping from a kafkajs failure to the reason health reports: it names the setting to
 * fix or the permission to grant, never a secret. Unknown errors keep kafkajs' message.
 */
export function describeKafkaFailure(err: unknown, ctx: KafkaFailureContext): string {
  const errors = chain(err);
  const text = errors.map((e) => `${e.code ?? ''} ${e.message ?? ''}`).join(' | ');
  const { security } = ctx;
  const sasl = security.sasl;
  const who = principal(security);

  const type = errors.find((e) => typeof e.type === 'string' && e.type.endsWith('_FAILED'))?.type;
  switch (type) {
    case 'TOPIC_AUTHORIZATION_FAILED':
      if (ctx.creatingTopics) return `${who} lacks DESCRIBE/CREATE on the pipeline's topics`;
      return `${who} lacks READ on topic ${list(ctx.readTopics)} or WRITE on topic ${list(ctx.writeTopics)}`;
    case 'GROUP_AUTHORIZATION_FAILED':
      return `${who} lacks READ on group ${ctx.group ?? '?'}`;
    case 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED':
      return `${who} lacks WRITE on transactional id ${ctx.transactionalId ?? '(the splitter prefix)'}`;
    case 'CLUSTER_AUTHORIZATION_FAILED':
      return ctx.creatingTopics
        ? `${who} lacks CREATE on the cluster (or create the topics beforehand)`
        : `${who} lacks IDEMPOTENT_WRITE on the cluster`;
    case 'SASL_AUTHENTICATION_FAILED':
    case 'TOKEN_AUTHENTICATION_FAILED':
      break; // reported below with the setting
  }

  if (
    errors.some((e) => e.type === 'UNSUPPORTED_SASL_MECHANISM') ||
    /not support the requested SASL mechanism|mechanism is not supported by the server/i.test(text)
  ) {
    return `KAFKA_SASL_MECHANISM ${sasl?.mechanism ?? ''} is not enabled on the broker's listener`;
  }
  if (errors.some((e) => e.name === 'KafkaJSSASLAuthenticationError') || /SASL_AUTH/.test(text)) {
    if (sasl?.mechanism === 'OAUTHBEARER') return tokenRejected(ctx);
    return `KAFKA_SASL_PASSWORD rejected by the broker (${sasl?.mechanism ?? 'SASL'}, user ${sasl?.username ?? '?'})`;
  }

  // kafkajs takes the server's RFC 7628 error challenge for success; the broker then closes the
  // connection, so a rejected token shows as a closed connection right after authenticating.
  if (
    sasl?.mechanism === 'OAUTHBEARER' &&
    /No brokers in the broker pool|Closed connection/i.test(text)
  ) {
    return tokenRejected(ctx);
  }

  const tls = security.ssl !== undefined;
  if (/ALTNAME|Hostname\/IP does not match/i.test(text)) {
    return `broker certificate does not name the host in KAFKA_BROKERS (${ctx.brokers.join(',')}); fix the certificate or, at your own risk, KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM=none`;
  }
  if (/CERT_HAS_EXPIRED|certificate has expired/i.test(text)) {
    return 'broker certificate has expired';
  }
  if (
    /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|unable to get local issuer|self.signed/i.test(
      text,
    )
  ) {
    return security.ssl?.caFile
      ? `broker certificate is not signed by KAFKA_SSL_CA_FILE (${security.ssl.caFile})`
      : 'broker certificate is not signed by a public CA: set KAFKA_SSL_CA_FILE';
  }
  if (/CERTIFICATE_REQUIRED|BAD_CERTIFICATE|bad certificate|certificate required/i.test(text)) {
    return security.ssl?.certFile
      ? `broker rejected the client certificate KAFKA_SSL_CERT_FILE (${security.ssl.certFile})`
      : 'broker requires a client certificate: set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE';
  }
  if (tls && /wrong version number|WRONG_VERSION|packet length too long/i.test(text)) {
    return `KAFKA_SECURITY_PROTOCOL=${security.protocol} but the broker's listener at ${ctx.brokers.join(',')} does not speak TLS`;
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Connection timeout/i.test(text)) {
    return `KAFKA_BROKERS unreachable (${ctx.brokers.join(',')}: ${firstMatch(text)})`;
  }
  if (!tls && /Closed connection|ECONNRESET|Request .* timed out/i.test(text)) {
    return `broker at ${ctx.brokers.join(',')} closed the connection: does its listener expect KAFKA_SECURITY_PROTOCOL=${security.protocol}?`;
  }
  const last = errors[errors.length - 1] ?? errors[0];
  return `kafka: ${last?.message ?? String(err)}`;
}

function tokenRejected(ctx: KafkaFailureContext): string {
  const exp = ctx.tokenExpiresAt ?? tokenFileExpiry(ctx.security.sasl?.tokenFile);
  const expired =
    exp !== undefined && exp <= Date.now() ? ` (expired ${new Date(exp).toISOString()})` : '';
  return `KAFKA_SASL_OAUTHBEARER_TOKEN_FILE token rejected by the broker${expired}`;
}

/** The `exp` of the token now in the file, if it is a readable JWT. */
function tokenFileExpiry(file: string | undefined): number | undefined {
  try {
    return file ? jwtExpiry(readFileSync(file, 'utf8').trim()) : undefined;
  } catch {
    return undefined;
  }
}

function firstMatch(text: string): string {
  return (
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Connection timeout/i.exec(
      text,
    )?.[0] ?? 'unreachable'
  );
}

/** An authentication or authorization failure: a setting or ACL to fix, not a passing outage. */
export function isKafkaAccessFailure(err: unknown): boolean {
  return chain(err).some(
    (e) =>
      e.name === 'KafkaJSSASLAuthenticationError' ||
      (typeof e.type === 'string' && e.type.endsWith('_AUTHORIZATION_FAILED')),
  );
}
