import { StoreConfig } from '../config';
import { FsStorageDriver } from './fs-storage.driver';
import { ossAddressing } from './oss-endpoint';
import { OssStorageDriver } from './oss-storage.driver';
import { createStorageDriver } from './storage.factory';

const base: StoreConfig = {
  driver: 'fs',
  prefix: 'logs',
  fsRoot: '/tmp/bucket',
  retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
};
const oss = {
  endpoint: 'https://oss-cn-shanghai.aliyuncs.com',
  bucket: 'logs-bucket',
  accessKeyId: 'id',
  accessKeySecret: 'secret',
  timeoutMs: 1000,
};

describe('createStorageDriver', () => {
  it('builds the configured driver', () => {
    expect(createStorageDriver(base)).toBeInstanceOf(FsStorageDriver);
    expect(createStorageDriver({ ...base, driver: 'oss', oss })).toBeInstanceOf(OssStorageDriver);
  });

  it('says what is missing', () => {
    expect(() => createStorageDriver({ ...base, driver: 'oss' })).toThrow(/oss settings/);
    expect(() => createStorageDriver({ ...base, driver: 'nfs' as 'fs' })).toThrow(
      /unknown store driver "nfs"/,
    );
    expect(() =>
      createStorageDriver({ ...base, driver: 'oss', oss: { ...oss, bucket: 'B' } }),
    ).toThrow(
      /cannot set up OSS for bucket "B" at https:\/\/oss-cn-shanghai.aliyuncs.com: The bucket must/,
    );
  });
});

describe('ossAddressing', () => {
  it('takes the region from an Aliyun endpoint and uses virtual-host addressing there', () => {
    expect(ossAddressing(oss, 4)).toEqual({
      endpoint: oss.endpoint,
      secure: true,
      region: 'oss-cn-shanghai',
      cname: false,
    });
    const internal = { ...oss, endpoint: 'http://oss-cn-beijing-internal.aliyuncs.com' };
    expect(ossAddressing(internal, 4)).toMatchObject({ secure: false, region: 'oss-cn-beijing' });
  });

  it('prefers OSS_REGION, with or without its oss- prefix', () => {
    expect(ossAddressing({ ...oss, region: 'cn-hongkong' }, 4).region).toBe('oss-cn-hongkong');
    expect(ossAddressing({ ...oss, region: 'oss-cn-hongkong' }, 4).region).toBe('oss-cn-hongkong');
  });

  it('addresses IPs directly and other host names as a cname', () => {
    expect(
      ossAddressing({ ...oss, endpoint: 'http://127.0.0.1:9000', region: 'cn-hangzhou' }, 4).cname,
    ).toBe(false);
    expect(
      ossAddressing({ ...oss, endpoint: 'http://oss-emulator:9000', region: 'cn-hangzhou' }, 4)
        .cname,
    ).toBe(true);
    expect(ossAddressing({ ...oss, endpoint: 'https://logs.example.com' }, 1)).toMatchObject({
      cname: true,
      region: undefined,
    });
  });

  it('refuses endpoints it cannot sign for', () => {
    expect(() => ossAddressing({ ...oss, endpoint: 'http://127.0.0.1:9000' }, 4)).toThrow(
      /OSS_REGION is required/,
    );
    expect(() => ossAddressing({ ...oss, endpoint: 'ftp://x' }, 4)).toThrow(/http\(s\) URL/);
  });
});
