import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';
import { RedisSettings, redisSettingsFromUrl } from '../config/redis-settings';

/**
 * The connection part of every Redis client's options (services, health, tools, tests): where
 * (one server, or the primary a Sentinel names), who (ACL user and password) and how (TLS with
 * server-name checking on). Files are read here, at connect time of each client.
 */
export function redisConnectionOptions(settings: RedisSettings | string): RedisOptions {
  const s = typeof settings === 'string' ? redisSettingsFromUrl(settings) : settings;
  const auth = { username: s.username, password: s.password, db: s.db };
  const tls = s.tls ? tlsOptions(s.tls) : undefined;
  if (!s.sentinel) return { host: s.host, port: s.port, ...auth, ...(tls && { tls }) };
  const sn = s.sentinel;
  return {
    ...auth,
    sentinels: sn.nodes,
    name: sn.master,
    role: 'master',
    sentinelUsername: sn.username,
    sentinelPassword: sn.password,
    ...(tls && { tls }),
    enableTLSForSentinelMode: Boolean(tls),
    ...(sn.tls && { sentinelTLS: tlsOptions(s.tls ?? {}) }),
    // Watch the sentinels' +switch-master instead of finding out by a failing command.
    failoverDetector: true,
  };
}

function tlsOptions(t: NonNullable<RedisSettings['tls']>): ConnectionOptions {
  return {
    // Unset CA = the system's trust store; server names are always checked (Node's default).
    ...(t.caFile && { ca: readFileSync(t.caFile) }),
    ...(t.certFile && { cert: readFileSync(t.certFile) }),
    ...(t.keyFile && { key: readFileSync(t.keyFile) }),
  };
}
