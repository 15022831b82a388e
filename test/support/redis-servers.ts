import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Redis, { RedisOptions } from 'ioredis';
import { redisSettingsFromEnv } from '@logsplit/common';
import { redisConnectionOptions } from '@logsplit/common';
import { ROOT } from './infra';

/*
 * Private redis-server / redis-sentinel processes for tests that need a Redis of their own shape
 * (TLS, ACL users, a primary with a replica watched by Sentinel). Each runs in the foreground as
 * our child, on a free loopback port, with no persistence; stop() kills it.
 */

export interface RedisProcess {
  port: number;
  proc: ChildProcess;
  logFile: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** A free loopback port (the OS picks it; a race with another process is unlikely). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/**
 * A CA and a certificate it signed for 127.0.0.1/localhost, written into `dir` by openssl
 * (`name` keeps several sets apart: a second CA that signed nothing Redis serves, for instance).
 */
export function makeTlsFiles(dir: string, name = 'redis'): TlsFiles {
  const f = (s: string) => join(dir, `${name}-${s}`);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl(
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}-ca`,
    '-keyout', f('ca.key'), '-out', f('ca.pem'),
  ); // prettier-ignore
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', f('key.pem'), '-out', f('csr.pem')); // prettier-ignore
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(
    'x509', '-req', '-in', f('csr.pem'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f('cert.pem'),
  ); // prettier-ignore
  return { ca: f('ca.pem'), cert: f('cert.pem'), key: f('key.pem') };
}

export interface RedisServerOptions {
  dir: string;
  /** Serve TLS only (the plain port is 0). */
  tls?: TlsFiles;
  /** With tls: require a client certificate signed by the CA (tls-auth-clients yes). */
  mtls?: boolean;
  /** Extra lines for the config file (ACL users, replicaof, masterauth, ...). */
  config?: string[];
  /** Start as redis-sentinel (the config must hold `sentinel monitor ...`). */
  sentinel?: boolean;
}

/** Starts a server and waits until it answers PING (over TLS where it serves TLS). */
export async function startRedisServer(opts: RedisServerOptions): Promise<RedisProcess> {
  const port = await freePort();
  const tag = `${opts.sentinel ? 'sentinel' : 'redis'}-${port}`;
  const conf = join(opts.dir, `${tag}.conf`);
  const logFile = join(opts.dir, `${tag}.log`);
  const lines = [
    'bind 127.0.0.1',
    `dir ${opts.dir}`,
    `logfile ${logFile}`,
    'save ""',
    'appendonly no',
    ...(opts.tls
      ? [
          'port 0',
          `tls-port ${port}`,
          `tls-cert-file ${opts.tls.cert}`,
          `tls-key-file ${opts.tls.key}`,
          `tls-ca-cert-file ${opts.tls.ca}`,
          `tls-auth-clients ${opts.mtls ? 'yes' : 'no'}`,
          'tls-replication yes',
        ]
      : [`port ${port}`]),
    ...(opts.config ?? []),
  ];
  writeFileSync(conf, lines.join('\n') + '\n');
  // redis-sentinel (Debian's package) is the same program started under that name.
  const bin = opts.sentinel ? 'redis-sentinel' : 'redis-server';
  const proc = spawn(bin, [conf], { cwd: ROOT, stdio: 'ignore' });
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const server: RedisProcess = {
    port,
    proc,
    logFile,
    async stop(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    // No ready check (INFO): a server that requires a login answers it with NOAUTH.
    const client = new Redis({
      ...testServerOptions(port, opts.tls, undefined, opts.mtls),
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      // NOAUTH / WRONGPASS still proves the server is up.
      await client.ping().catch((err: Error) => {
        if (!/NOAUTH|NOPERM|WRONGPASS/.test(err.message)) throw err;
      });
      return server;
    } catch (err) {
      if (Date.now() > deadline || proc.exitCode !== null) {
        await server.stop();
        throw new Error(`${bin} on ${port} did not start: ${String(err)}; see ${logFile}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      client.disconnect();
    }
  }
}

/** An admin client for a test server (the `default` user, no retries past 10 s). */
export function adminClient(
  port: number,
  opts: { tls?: TlsFiles; password?: string; mtls?: boolean } = {},
) {
  const c = new Redis({
    ...testServerOptions(port, opts.tls, opts.password, opts.mtls),
    maxRetriesPerRequest: 3,
  });
  c.on('error', () => undefined);
  return c;
}

/** Connection options for a test server, from the services' own builder. */
function testServerOptions(
  port: number,
  tls?: TlsFiles,
  password?: string,
  mtls = false,
): RedisOptions {
  return redisConnectionOptions(
    redisSettingsFromEnv({
      REDIS_URL: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
      REDIS_PASSWORD: password,
      REDIS_TLS_CA_FILE: tls?.ca,
      // The server's own certificate serves as the client's: the same CA signed it.
      ...(mtls && { REDIS_TLS_CERT_FILE: tls?.cert, REDIS_TLS_KEY_FILE: tls?.key }),
    }),
  );
}

/**
 * The ACL rule docs/deploy.md gives for the services' Redis user, read from the doc itself so
 * the tests prove exactly what users are told to set: the line after `ACL SETUSER logsplit`.
 */
export function documentedRedisAcl(): string {
  const doc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
  const m = /ACL SETUSER logsplit (on .*)$/m.exec(doc);
  if (!m) throw new Error('docs/deploy.md has no `ACL SETUSER logsplit on ...` line');
  return m[1].replace(/>\S+/, '').trim();
}
