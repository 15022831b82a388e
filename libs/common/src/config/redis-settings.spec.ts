import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config';
import { ConfigError } from './config-error';
import { maskUrlPassword } from './redis-settings';
import { forgetSecrets, redactSecrets } from './secrets';

const problemsOf = (env: NodeJS.ProcessEnv): string => {
  try {
    loadConfig('compressor', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('no ConfigError');
};

describe('Redis settings', () => {
  afterEach(forgetSecrets);

  it('reads user and password from the URL, and masks the password for display', () => {
    const c = loadConfig('compressor', { REDIS_URL: 'redis://app:s3cr%40t@r.example:6380/2' });
    expect(c.redis).toMatchObject({
      host: 'r.example',
      port: 6380,
      db: 2,
      username: 'app',
      password: 's3cr@t',
      passwordSetting: 'REDIS_URL',
      displayUrl: 'redis://app:[redacted]@r.example:6380/2',
    });
    expect(redactSecrets('auth s3cr@t')).toBe('auth [redacted]');
  });

  it('takes REDIS_USERNAME and REDIS_PASSWORD_FILE, TLS from rediss:// with a CA file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-settings-'));
    writeFileSync(join(dir, 'pw'), 'file-password\n');
    writeFileSync(join(dir, 'ca.pem'), 'x');
    const c = loadConfig('uploader', {
      REDIS_URL: 'rediss://r.example',
      REDIS_USERNAME: 'logsplit',
      REDIS_PASSWORD_FILE: join(dir, 'pw'),
      REDIS_TLS_CA_FILE: join(dir, 'ca.pem'),
    });
    expect(c.redis).toMatchObject({
      username: 'logsplit',
      password: 'file-password',
      passwordSetting: 'REDIS_PASSWORD',
      tls: { caFile: join(dir, 'ca.pem') },
    });
  });

  it('builds Sentinel settings; TLS to sentinels follows REDIS_TLS unless set', () => {
    const c = loadConfig('compressor', {
      REDIS_SENTINELS: 's1:26379, s2:26380',
      REDIS_SENTINEL_MASTER: 'logs',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
      REDIS_TLS: 'true',
      REDIS_SENTINEL_TLS: 'false',
    });
    expect(c.redis.sentinel).toEqual({
      nodes: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      master: 'logs',
      username: undefined,
      password: 'sentinel-pw',
      tls: false,
    });
  });

  it('names each bad variable and never prints the URL password', () => {
    const msg = problemsOf({
      REDIS_URL: 'redis://u:hunter22@r.example/x',
      REDIS_PASSWORD: 'other-password',
      REDIS_TLS_CA_FILE: '/nonexistent/ca.pem',
    });
    expect(msg).toContain('REDIS_PASSWORD: REDIS_URL holds a password too');
    expect(msg).toContain('REDIS_URL: the database after the host must be a number');
    expect(msg).toContain('REDIS_TLS_CA_FILE: set REDIS_TLS=true');
    expect(problemsOf({ REDIS_URL: 'http://u:hunter22@r.example' })).toContain(
      'http://u:[redacted]@r.example',
    );
    expect(msg + problemsOf({ REDIS_URL: 'http://u:hunter22@x' })).not.toContain('hunter22');
    expect(problemsOf({ REDIS_SENTINELS: 'a:1' })).toContain(
      'REDIS_SENTINEL_MASTER: required when REDIS_SENTINELS is set',
    );
  });

  it('masks a password-only user-info part whole', () => {
    expect(maskUrlPassword('redis://pw@h:1')).toBe('redis://[redacted]@h:1');
    expect(maskUrlPassword('redis://h:1')).toBe('redis://h:1');
  });
});
