import type Redis from 'ioredis';
import type { RedisSettings } from '../config/redis-settings';
import { redactSecrets } from '../config/secrets';

/*
 * Why a Redis client cannot do its job, in words an operator can act on: the setting to fix is
 * named first (`REDIS_PASSWORD rejected by Redis (WRONGPASS, user logsplit)`). The client keeps
 * reconnecting with backoff meanwhile, so fixing the setting on the Redis side (ACL SETUSER,
 * a renewed certificate) is picked up without a restart.
 */

const lastErrors = new WeakMap<Redis, Error>();

/** Remembers the client's latest connection error (undefined once it is ready again). */
export function noteRedisError(client: Redis, err: Error | undefined): void {
  if (err) lastErrors.set(client, err);
  else lastErrors.delete(client);
}

/** The client's latest connection error since it was last ready. */
export function lastRedisError(client: Redis): Error | undefined {
  return lastErrors.get(client);
}

const TLS_VERIFY = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** A one-line reason naming the setting to look at; never holds a secret value. */
export function describeRedisFailure(err: unknown, s: RedisSettings): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const message = e.message;
  const user = s.username ?? 'default';
  const where = s.sentinel
    ? `the primary "${s.sentinel.master}" named by REDIS_SENTINELS`
    : `${s.host}:${s.port}`;
  let reason: string;
  if (message.startsWith('WRONGPASS')) {
    const setting = s.passwordSetting ?? 'REDIS_PASSWORD';
    reason = `${setting} rejected by Redis (WRONGPASS, user ${user})`;
  } else if (message.startsWith('NOAUTH')) {
    reason = `REDIS_PASSWORD is required by Redis (NOAUTH, user ${user})`;
  } else if (message.startsWith('NOPERM')) {
    reason = `REDIS_USERNAME ${user} lacks a permission the services need (${message}); see docs/deploy.md for the ACL`;
  } else if (TLS_VERIFY.has(code)) {
    reason = `REDIS_TLS_CA_FILE does not verify the certificate of ${where} (${code})`;
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    reason = `the certificate of ${where} is not valid now (${code})`;
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    reason = `the certificate of ${where} does not name the host in REDIS_URL (${code})`;
  } else if (
    /certificate required|CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/i.test(`${code} ${message}`)
  ) {
    reason = `Redis requires a client certificate: set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE (${code || message})`;
  } else if (/wrong version number|packet length too long|EPROTO/i.test(`${code} ${message}`)) {
    reason = `REDIS_TLS does not match ${where}: TLS on one side only (${code || message})`;
  } else if (message.startsWith('All sentinels are unreachable')) {
    reason = `REDIS_SENTINELS: no sentinel answered for "${s.sentinel?.master}" (${message})`;
  } else if (UNREACHABLE.has(code)) {
    reason = `${s.sentinel ? 'REDIS_SENTINELS' : 'REDIS_URL'}: ${where} unreachable (${code})`;
  } else {
    reason = `Redis at ${where}: ${message}`;
  }
  return redactSecrets(reason);
}
