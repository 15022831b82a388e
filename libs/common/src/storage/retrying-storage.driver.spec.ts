import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStorageDriver } from './fs-storage.driver';
import { md5Hex } from './md5';
import { OssStorageDriver } from './oss-storage.driver';
import {
  RetryingStorageDriver,
  StoreRetryEvent,
  StoreRetryOptions,
} from './retrying-storage.driver';
import { collect, describeStorageContract } from '@logsplit/testing';
import { NotFoundError, ObjectExistsError, StorageDriver, StorageError } from './storage-driver';
import { OssTestServer } from '@logsplit/testing';

let server: OssTestServer;
let retries: StoreRetryEvent[];
let delays: number[];
const roots: string[] = [];

beforeAll(async () => {
  server = await OssTestServer.start();
});
afterAll(async () => {
  await server.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
beforeEach(() => {
  server.reset();
  retries = [];
  delays = [];
});

function retrying(inner: StorageDriver, opts: Partial<StoreRetryOptions> = {}) {
  return new RetryingStorageDriver(inner, {
    retries: 4,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    onRetry: (e) => retries.push(e),
    sleep: async (ms) => void delays.push(ms),
    ...opts,
  });
}

const oss = (timeoutMs = 10_000, listPageSize?: number) =>
  retrying(new OssStorageDriver(server.config({ timeoutMs }), { listPageSize }));

// A decorator must not change what a driver does when nothing fails.
describeStorageContract('RetryingStorageDriver over OSS', ({ listPageSize }) => {
  server.reset();
  return oss(10_000, listPageSize);
});

describe('RetryingStorageDriver', () => {
  it('retries 5xx answers until the store takes the put', async () => {
    server.failNext(2, 503, { method: 'PUT' });
    server.failNext(1, 500, { method: 'PUT' });
    const body = Buffer.from('segment');
    expect(await oss().putBuffer('a/seg', body)).toEqual({
      key: 'a/seg',
      size: body.length,
      md5: md5Hex(body),
    });
    expect(server.requests.map((r) => r.status)).toEqual([503, 503, 500, 200]);
    expect(retries.map((r) => [r.op, r.key, r.attempt])).toEqual([
      ['put', 'a/seg', 1],
      ['put', 'a/seg', 2],
      ['put', 'a/seg', 3],
    ]);
  });

  it('backs off exponentially with jitter, capped', async () => {
    server.failNext(6, 503);
    await expect(oss().head('k')).rejects.toBeInstanceOf(StorageError);
    // Ceilings 100, 200, 400, 800: each wait lies in the upper half of its ceiling.
    expect(delays).toHaveLength(4);
    [100, 200, 400, 800].forEach((ceiling, i) => {
      expect(delays[i]).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delays[i]).toBeLessThanOrEqual(ceiling);
    });
    delays = [];
    server.reset();
    server.failNext(20, 503);
    await expect(oss().head('k')).rejects.toThrow(/ServiceUnavailable/);
    expect(server.count()).toBe(5);
    const capped = retrying(new OssStorageDriver(server.config()), { retries: 8 });
    server.reset();
    server.failNext(20, 503);
    delays = [];
    await expect(capped.head('k')).rejects.toThrow();
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
    expect(delays.slice(-3).every((d) => d >= 500)).toBe(true);
  });

  it('retries a request that hangs once the client timeout fires, and a dropped connection', async () => {
    await oss().putBuffer('k', Buffer.from('x'));
    server.failNext(1, 'hang', { method: 'HEAD' });
    server.failNext(1, 'reset', { method: 'HEAD' });
    expect(await oss(300).head('k')).toMatchObject({ key: 'k', size: 1 });
    expect(server.requests.slice(1).map((r) => r.status)).toEqual([0, -1, 200]);
    expect(retries.map((r) => (r.error as StorageError).retryable)).toEqual([true, true]);
  });

  it('reports ObjectExistsError when a lost answer hid that an earlier attempt stored it', async () => {
    server.failNext(1, 'reset', { method: 'PUT', afterApply: true });
    await expect(
      oss().putBuffer('once', Buffer.from('x'), { ifAbsent: true }),
    ).rejects.toBeInstanceOf(ObjectExistsError);
    expect(server.requests.map((r) => r.status)).toEqual([-1, 409]);
    expect(server.object('once')?.toString()).toBe('x');
  });

  it('does not retry what another attempt cannot fix', async () => {
    const denied = retrying(new OssStorageDriver(server.config({ accessKeySecret: 'wrong' })));
    await expect(denied.putBuffer('k', Buffer.from('x'))).rejects.toThrow(/SignatureDoesNotMatch/);
    await expect(oss().getBuffer('missing')).rejects.toBeInstanceOf(NotFoundError);
    await oss().putBuffer('here', Buffer.from('x'));
    await expect(
      oss().putBuffer('here', Buffer.from('y'), { ifAbsent: true }),
    ).rejects.toBeInstanceOf(ObjectExistsError);
    expect(server.count()).toBe(4);
    expect(retries).toEqual([]);
  });

  it('starts a listing that failed midway over, without yielding a key twice', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `l/${String(i).padStart(2, '0')}`);
    for (const k of keys) server.putObject(k, Buffer.from(k));
    const store = oss(10_000, 10);
    const iter = store.list('l/')[Symbol.asyncIterator]();
    const got: string[] = [];
    for (let i = 0; i < 12; i++) got.push((await iter.next()).value as string);
    server.failNext(1, 503, { method: 'GET' }); // the third page
    for (let r = await iter.next(); !r.done; r = await iter.next()) got.push(r.value);
    expect(got).toEqual(keys);
    expect(retries.map((r) => [r.op, r.key])).toEqual([['list', 'l/']]);
  });

  it('retries transient filesystem errors of the fs driver, not lasting ones', async () => {
    const root = mkdtempSync(join(tmpdir(), 'retry-fs-'));
    roots.push(root);
    const fs = new FsStorageDriver(root);
    const errno = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });
    let failures = [errno('EIO'), errno('ETIMEDOUT')];
    const flaky: StorageDriver = Object.assign(Object.create(fs) as FsStorageDriver, {
      putBuffer: (key: string, body: Buffer) => {
        const err = failures.shift();
        return err ? Promise.reject(err) : fs.putBuffer(key, body);
      },
    });
    await retrying(flaky).putBuffer('k', Buffer.from('x'));
    expect(retries.map((r) => (r.error as NodeJS.ErrnoException).code)).toEqual([
      'EIO',
      'ETIMEDOUT',
    ]);
    failures = [errno('ENOSPC')];
    await expect(retrying(flaky).putBuffer('k2', Buffer.from('x'))).rejects.toThrow('ENOSPC');
    expect(retries).toHaveLength(2);
    expect(await collect(fs.list(''))).toEqual(['k']);
  });
});
