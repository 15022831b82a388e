import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './config-error';
import { hostPortList } from './setting-types';
import { REDACTED, rememberSecret } from './secrets';

/*
 * How the services reach Redis: one server (REDIS_URL), or a Sentinel-managed primary
 * (REDIS_SENTINELS + REDIS_SENTINEL_MASTER); login as an ACL user; TLS with a CA and an
 * optional client certificate. REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD are secrets
 * (SECRET_SETTINGS: `_FILE` variants, never printed); a password inside REDIS_URL is treated as
 * one too.
 */

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const file = z.string().min(1, 'must be a file path');

/** Spread into envSchema. */
export const redisEnvShape = {
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_TLS: flag.optional(),
  REDIS_TLS_CA_FILE: file.optional(),
  REDIS_TLS_CERT_FILE: file.optional(),
  REDIS_TLS_KEY_FILE: file.optional(),
  REDIS_SENTINELS: hostPortList('sentinel').optional(),
  REDIS_SENTINEL_MASTER: z.string().min(1).optional(),
  REDIS_SENTINEL_USERNAME: z.string().min(1).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  REDIS_SENTINEL_TLS: flag.optional(),
  // A lease counts once this many replicas hold it (WAIT): see docs/architecture.md, Locks.
  REDIS_LEASE_REPLICAS: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be >= 0')
    .max(16, 'must be <= 16')
    .optional(),
  REDIS_LEASE_REPLICA_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(10, 'must be >= 10')
    .max(60_000, 'must be <= 60000')
    .default(1_000),
};
// REDIS_SENTINEL_* without REDIS_SENTINELS are ignored, like settings of a store not in use: one
// Secret or ConfigMap can then serve every service and setup.

type RedisEnv = { [K in keyof typeof redisEnvShape]: z.output<(typeof redisEnvShape)[K]> };

export interface RedisTlsSettings {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface RedisSettings {
  /** REDIS_URL with any password replaced: safe to print. */
  displayUrl: string;
  /** Where the single server is (unused under Sentinel). */
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** Which setting the password came from, for error messages. */
  passwordSetting?: 'REDIS_PASSWORD' | 'REDIS_URL';
  /** TLS to Redis itself; undefined = plaintext. */
  tls?: RedisTlsSettings;
  sentinel?: {
    nodes: HostPort[];
    master: string;
    username?: string;
    password?: string;
    tls: boolean;
  };
  /** Replicas that must acknowledge a lease (WAIT) before it counts; 0 = none. */
  leaseReplicas: number;
  leaseReplicaTimeoutMs: number;
}

/** `url` with the password of its user-info part (if any) replaced by REDACTED. */
export function maskUrlPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_m, scheme: string, info: string) => {
    const colon = info.indexOf(':');
    // `redis://secret@host` is a password alone (ioredis reads it so): mask it whole.
    return colon < 0 ? `${scheme}${REDACTED}@` : `${scheme}${info.slice(0, colon)}:${REDACTED}@`;
  });
}

/** Remembers the password inside REDIS_URL before anything can print it (see redactSecrets). */
export function rememberUrlSecrets(env: NodeJS.ProcessEnv): void {
  const url = env.REDIS_URL;
  if (!url) return;
  try {
    rememberSecret(decodeURIComponent(new URL(url).password) || undefined);
  } catch {
    // not a URL: validation reports it (masked by maskUrlPassword)
  }
}

/** Builds the Redis section; throws ConfigError naming each bad variable. */
export function redisSettingsFromEnv(
  e: Pick<RedisEnv, 'REDIS_URL'> & Partial<RedisEnv>,
): RedisSettings {
  const problems: string[] = [];
  const url = new URL(e.REDIS_URL);
  const urlUser = decodeURIComponent(url.username);
  const urlPassword = decodeURIComponent(url.password);
  if (e.REDIS_PASSWORD && urlPassword) {
    problems.push('REDIS_PASSWORD: REDIS_URL holds a password too; set one of them');
  }
  if (e.REDIS_USERNAME && urlUser && urlPassword) {
    problems.push('REDIS_USERNAME: REDIS_URL names a user too; set one of them');
  }
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    problems.push(`REDIS_URL: the database after the host must be a number (got "/${dbText}")`);
  }
  const tlsOn = e.REDIS_TLS ?? url.protocol === 'rediss:';
  if (e.REDIS_TLS === false && url.protocol === 'rediss:') {
    problems.push('REDIS_TLS: false contradicts the rediss:// scheme of REDIS_URL');
  }
  for (const name of ['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'] as const) {
    const path = e[name];
    if (path === undefined) continue;
    if (!tlsOn) problems.push(`${name}: set REDIS_TLS=true (or a rediss:// URL) to use it`);
    else if (!existsSync(path)) problems.push(`${name}: no such file ${JSON.stringify(path)}`);
  }
  if (Boolean(e.REDIS_TLS_CERT_FILE) !== Boolean(e.REDIS_TLS_KEY_FILE)) {
    problems.push('REDIS_TLS_CERT_FILE: a client certificate needs REDIS_TLS_KEY_FILE too');
  }
  if (e.REDIS_SENTINELS && !e.REDIS_SENTINEL_MASTER) {
    problems.push('REDIS_SENTINEL_MASTER: required when REDIS_SENTINELS is set');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  // `redis://secret@host` carries a password without a user (ioredis' reading, kept).
  const password = e.REDIS_PASSWORD ?? (urlPassword || (urlUser && !urlPassword ? urlUser : ''));
  const username = e.REDIS_USERNAME ?? (urlPassword ? urlUser || undefined : undefined);
  rememberSecret(password || undefined);
  return {
    displayUrl: maskUrlPassword(e.REDIS_URL),
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
    db,
    username,
    password: password || undefined,
    passwordSetting: e.REDIS_PASSWORD ? 'REDIS_PASSWORD' : password ? 'REDIS_URL' : undefined,
    tls: tlsOn
      ? {
          caFile: e.REDIS_TLS_CA_FILE,
          certFile: e.REDIS_TLS_CERT_FILE,
          keyFile: e.REDIS_TLS_KEY_FILE,
        }
      : undefined,
    sentinel: e.REDIS_SENTINELS
      ? {
          nodes: e.REDIS_SENTINELS.map((hp) => {
            const i = hp.lastIndexOf(':');
            return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
          }),
          master: e.REDIS_SENTINEL_MASTER!,
          username: e.REDIS_SENTINEL_USERNAME,
          password: e.REDIS_SENTINEL_PASSWORD,
          tls: e.REDIS_SENTINEL_TLS ?? tlsOn,
        }
      : undefined,
    // Sentinel means replicas a failover promotes: a lease only they lack would vanish with it.
    leaseReplicas: e.REDIS_LEASE_REPLICAS ?? (e.REDIS_SENTINELS ? 1 : 0),
    leaseReplicaTimeoutMs: e.REDIS_LEASE_REPLICA_TIMEOUT_MS ?? 1_000,
  };
}

/** Settings for a plain URL (tests, tools): the same parsing as the services'. */
export function redisSettingsFromUrl(url: string): RedisSettings {
  return redisSettingsFromEnv({ REDIS_URL: url });
}
