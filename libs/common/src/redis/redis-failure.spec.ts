import { redisSettingsFromEnv } from '../config/redis-settings';
import { forgetSecrets } from '../config/secrets';
import { describeRedisFailure } from './redis-failure';

const err = (message: string, code?: string) => Object.assign(new Error(message), { code });

describe('describeRedisFailure', () => {
  afterAll(forgetSecrets);
  const plain = redisSettingsFromEnv({
    REDIS_URL: 'redis://r.example:6380',
    REDIS_USERNAME: 'logsplit',
    REDIS_PASSWORD: 'pw-1b2c3d',
  });
  const inUrl = redisSettingsFromEnv({ REDIS_URL: 'redis://app:url-pw-77aa@r.example' });
  const sentinel = redisSettingsFromEnv({
    REDIS_URL: 'redis://x',
    REDIS_SENTINELS: ['s1:26379'],
    REDIS_SENTINEL_MASTER: 'logs',
  });

  it.each([
    [
      plain,
      err('WRONGPASS invalid username-password pair'),
      'REDIS_PASSWORD rejected by Redis (WRONGPASS, user logsplit)',
    ],
    [
      inUrl,
      err('WRONGPASS invalid username-password pair'),
      'REDIS_URL rejected by Redis (WRONGPASS, user app)',
    ],
    [plain, err('NOAUTH Authentication required.'), 'REDIS_PASSWORD is required by Redis (NOAUTH'],
    [
      plain,
      err("NOPERM User logsplit has no permissions to run the 'incr' command"),
      "REDIS_USERNAME logsplit lacks a permission the services need (NOPERM User logsplit has no permissions to run the 'incr' command)",
    ],
    [
      plain,
      err('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'),
      'REDIS_TLS_CA_FILE does not verify the certificate of r.example:6380 (SELF_SIGNED_CERT_IN_CHAIN)',
    ],
    [
      plain,
      err("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'),
      'does not name the host in REDIS_URL',
    ],
    [
      plain,
      err('connect ECONNREFUSED', 'ECONNREFUSED'),
      'REDIS_URL: r.example:6380 unreachable (ECONNREFUSED)',
    ],
    [
      sentinel,
      err('connect ECONNREFUSED', 'ECONNREFUSED'),
      'REDIS_SENTINELS: the primary "logs" named by REDIS_SENTINELS unreachable',
    ],
    [
      sentinel,
      err('All sentinels are unreachable. Retrying from scratch after 10ms.'),
      'REDIS_SENTINELS: no sentinel answered for "logs"',
    ],
  ])('%#: names the setting', (settings, e, reason) => {
    expect(describeRedisFailure(e, settings)).toContain(reason);
  });

  it('never quotes a known secret value', () => {
    const text = describeRedisFailure(
      err('ERR weird reply mentioning pw-1b2c3d and url-pw-77aa'),
      plain,
    );
    expect(text).not.toMatch(/pw-1b2c3d|url-pw-77aa/);
  });
});
