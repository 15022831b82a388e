import { forgetSecrets, redactSecrets } from '../../config/secrets';
import { CredentialSource, CredentialsError, OssCredentials } from './credentials';
import { hold, RefreshingCredentials } from './refreshing-credentials';

/** A source handing out numbered temporary keys valid for lifetimeMs of the fake clock. */
function fakeSource(clock: { now: number }, lifetimeMs: number) {
  const calls: ((v: OssCredentials | Error) => void)[] = [];
  let n = 0;
  const source: CredentialSource & { fetched: number; failWith?: Error; manual: boolean } = {
    describe: 'TEST_SOURCE',
    blame: () => 'TEST_SOURCE',
    fetched: 0,
    manual: false,
    fetch() {
      source.fetched++;
      if (source.failWith) return Promise.reject(source.failWith);
      const keys = {
        accessKeyId: `id-${++n}`,
        accessKeySecret: `secret-number-${n}`,
        securityToken: `token-number-${n}`,
        expiresAt: clock.now + lifetimeMs,
      };
      if (!source.manual) return Promise.resolve(keys);
      return new Promise((res, rej) =>
        calls.push((v) => (v instanceof Error ? rej(v) : res(keys))),
      );
    },
  };
  return { source, release: () => calls.splice(0).forEach((c) => c({} as OssCredentials)) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('RefreshingCredentials', () => {
  afterEach(() => forgetSecrets());

  it('renews keys halfway through a short life, at most 15 minutes before expiry', () => {
    const at = (lifetimeMs: number) =>
      hold({ accessKeyId: 'a', accessKeySecret: 'b', expiresAt: 1_000 + lifetimeMs }, 1_000);
    expect(at(6_000)).toMatchObject({ refreshAt: 4_000, usableUntil: 6_400 });
    const sixHours = 6 * 3_600_000;
    expect(at(sixHours)).toMatchObject({
      refreshAt: 1_000 + sixHours - 15 * 60_000,
      usableUntil: 1_000 + sixHours - 60_000,
    });
    expect(hold({ accessKeyId: 'a', accessKeySecret: 'b' }, 0).refreshAt).toBe(Infinity);
  });

  it('answers from the cache, renews in the background past the refresh time', async () => {
    const clock = { now: 0 };
    const { source, release } = fakeSource(clock, 6_000);
    const creds = new RefreshingCredentials(source, () => clock.now);
    expect((await creds.get()).accessKeyId).toBe('id-1');
    clock.now = 2_999;
    expect((await creds.get()).accessKeyId).toBe('id-1');
    expect(source.fetched).toBe(1);

    source.manual = true;
    clock.now = 3_000; // refresh due: old keys still handed out while the fetch runs
    const during = await Promise.all([creds.get(), creds.get(), creds.get()]);
    expect(during.map((c) => c.accessKeyId)).toEqual(['id-1', 'id-1', 'id-1']);
    expect(source.fetched).toBe(2); // one fetch for all of them
    release();
    await tick();
    expect((await creds.get()).accessKeyId).toBe('id-2');
    expect(creds.refreshAt).toBe(6_000);
  });

  it('keeps working keys when a renewal fails, retries with backoff, fails once they expire', async () => {
    const clock = { now: 0 };
    const { source } = fakeSource(clock, 10_000);
    const creds = new RefreshingCredentials(source, () => clock.now);
    await creds.get();
    source.failWith = new CredentialsError('TEST_SOURCE', 'endpoint unreachable (ECONNREFUSED)');
    clock.now = 5_000;
    expect((await creds.get()).accessKeyId).toBe('id-1');
    await tick();
    expect(creds.lastError?.message).toMatch(/ECONNREFUSED/);
    clock.now = 5_200; // within the 500 ms backoff: no new attempt
    await creds.get();
    expect(source.fetched).toBe(2);
    clock.now = 5_600;
    await creds.get();
    await tick();
    expect(source.fetched).toBe(3);
    clock.now = 9_500; // last tenth of the life: not handed out any more
    await expect(creds.get()).rejects.toThrow('TEST_SOURCE: endpoint unreachable (ECONNREFUSED)');
    source.failWith = undefined;
    expect((await creds.get()).accessKeyId).toBe('id-2');
  });

  it('fetches anew after invalidate (OSS said the token expired)', async () => {
    const clock = { now: 0 };
    const { source } = fakeSource(clock, 60_000);
    const creds = new RefreshingCredentials(source, () => clock.now);
    await creds.get();
    creds.invalidate();
    expect((await creds.get()).accessKeyId).toBe('id-2');
  });

  it('remembers every secret and token fetched, so log lines mask them', async () => {
    const clock = { now: 0 };
    const { source } = fakeSource(clock, 1_000);
    const creds = new RefreshingCredentials(source, () => clock.now);
    await creds.get();
    clock.now = 950;
    await creds.get();
    expect(redactSecrets('secret-number-1 token-number-1 secret-number-2 token-number-2')).toBe(
      '[redacted] [redacted] [redacted] [redacted]',
    );
  });
});
