import { md5Hex } from './md5';
import { OssStorageDriver } from './oss-storage.driver';
import { collect, describeStorageContract } from './storage-contract';
import { ChecksumMismatchError, StorageError } from './storage-driver';
import { OssTestServer } from './testing/oss-test-server';

let server: OssTestServer;
beforeAll(async () => {
  server = await OssTestServer.start();
});
afterAll(() => server.close());

describeStorageContract('OssStorageDriver (V4 signatures)', ({ listPageSize }) => {
  server.reset();
  return new OssStorageDriver(server.config(), { listPageSize });
});

describe('OssStorageDriver', () => {
  beforeEach(() => server.reset());

  it('sends Content-MD5 so the store itself rejects corrupted bytes', async () => {
    const store = new OssStorageDriver(server.config());
    await expect(
      store.putBuffer('k', Buffer.from('x'), { md5: md5Hex(Buffer.from('y')) }),
    ).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(server.requests).toEqual([
      expect.objectContaining({ method: 'PUT', key: 'k', op: 'PutObject', status: 400 }),
    ]);
  });

  it('works with V1 signatures too', async () => {
    const store = new OssStorageDriver(server.config(), { signatureVersion: 1 });
    await store.putBuffer('v1/a b+c', Buffer.from('v1'));
    expect(await store.head('v1/a b+c')).toEqual({
      key: 'v1/a b+c',
      size: 2,
      md5: md5Hex(Buffer.from('v1')),
    });
    expect(await collect(store.list('v1/'))).toEqual(['v1/a b+c']);
  });

  it('reaches a host-name endpoint with cname addressing (no <bucket>. prepended)', async () => {
    const store = new OssStorageDriver(
      server.config({ endpoint: server.endpoint.replace('127.0.0.1', 'localhost') }),
    );
    await store.putBuffer('cname/1', Buffer.from('x'));
    expect(server.keys()).toEqual(['cname/1']);
  });

  it('lists more than 1000 keys page by page with the default page size', async () => {
    const keys = Array.from({ length: 2345 }, (_, i) => `big/${String(i).padStart(5, '0')}`);
    for (const key of keys) server.putObject(key, Buffer.from(key));
    const store = new OssStorageDriver(server.config());
    expect(await collect(store.list('big/'))).toEqual(keys);
    expect(server.count('GET', '')).toBe(3);
  });

  it('says which key and operation failed, and whether to retry', async () => {
    const store = new OssStorageDriver(server.config());
    server.failNext(1, 503);
    const err = (await store
      .putBuffer('seg/1', Buffer.from('x'))
      .catch((e: unknown) => e)) as StorageError;
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toMatch(/OSS put of "seg\/1" failed: ServiceUnavailable \(HTTP 503\)/);
    expect(err).toMatchObject({
      op: 'put',
      key: 'seg/1',
      retryable: true,
      code: 'ServiceUnavailable',
    });
    await store.putBuffer('seg/1', Buffer.from('x'));
    expect(server.count('PUT', 'seg/1')).toBe(2);
  });

  it('names the endpoint when it cannot be reached', async () => {
    const gone = await OssTestServer.start();
    const config = gone.config();
    await gone.close();
    const store = new OssStorageDriver(config);
    const err = (await store.head('some/key').catch((e: unknown) => e)) as StorageError;
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toContain(
      `OSS head of "some/key" failed: OSS_ENDPOINT ${config.endpoint} unreachable`,
    );
    expect(err.retryable).toBe(true);
  });

  it('fails a request that hangs after the configured timeout', async () => {
    const store = new OssStorageDriver(server.config({ timeoutMs: 300 }));
    server.failNext(1, 'hang');
    const err = (await store.head('slow').catch((e: unknown) => e)) as StorageError;
    expect(err.message).toMatch(
      /OSS head of "slow" failed: OSS_ENDPOINT .* unreachable \(.*Timeout/,
    );
    expect(err.retryable).toBe(true);
  });

  it('lets a retried put succeed after the store kept the first one but the answer was lost', async () => {
    const store = new OssStorageDriver(server.config());
    server.failNext(1, 'reset', { method: 'PUT', afterApply: true });
    await expect(store.putBuffer('lost-ack', Buffer.from('x'))).rejects.toBeInstanceOf(
      StorageError,
    );
    expect(server.object('lost-ack')?.toString()).toBe('x');
    expect(await store.putBuffer('lost-ack', Buffer.from('x'))).toMatchObject({ size: 1 });
  });

  it('deletes a missing key without error and checks keys before any request', async () => {
    const store = new OssStorageDriver(server.config());
    await store.delete('never/was');
    await expect(store.head('../x')).rejects.toThrow(/unsafe/);
    expect(server.requests.map((r) => [r.method, r.status])).toEqual([['DELETE', 204]]);
  });

  it('requires a region for V4 signing when the endpoint does not name one', () => {
    expect(() => new OssStorageDriver(server.config({ region: undefined }))).toThrow(
      /OSS_REGION is required/,
    );
    expect(
      () => new OssStorageDriver(server.config({ region: undefined }), { signatureVersion: 1 }),
    ).not.toThrow();
  });
});
