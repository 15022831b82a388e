import { ConfigError } from './config-error';
import { loadConfig } from './config';
import { credentialSourceOf } from './oss-settings';

const STORE = {
  LOGSPLIT_STORE_DRIVER: 'oss',
  OSS_ENDPOINT: 'https://oss-cn-hangzhou.aliyuncs.com',
  OSS_BUCKET: 'logs',
};
const KEYS = { OSS_ACCESS_KEY_ID: 'id', OSS_ACCESS_KEY_SECRET: 'secret' };
const RRSA = {
  ALIBABA_CLOUD_ROLE_ARN: 'acs:ram::123:role/logsplit',
  ALIBABA_CLOUD_OIDC_PROVIDER_ARN: 'acs:ram::123:oidc-provider/ack-rrsa-c1',
  ALIBABA_CLOUD_OIDC_TOKEN_FILE: '/var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token',
};
const ECS = { ALIBABA_CLOUD_ECS_METADATA: 'logsplit-role' };
const URI = { ALIBABA_CLOUD_CREDENTIALS_URI: 'http://127.0.0.1:9/credentials' };

const problems = (service: string, env: NodeJS.ProcessEnv) => {
  try {
    loadConfig(service, env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
};
const sourceOf = (env: NodeJS.ProcessEnv) =>
  credentialSourceOf(loadConfig('uploader', { ...STORE, ...env }).store.oss!);

describe('OSS credential settings', () => {
  it('takes the first configured source in the order of Alibaba’s default chain', () => {
    expect(sourceOf({ ...URI, ...ECS, ...RRSA, ...KEYS })).toBe('static');
    expect(sourceOf({ ...URI, ...ECS, ...RRSA })).toBe('oidc');
    expect(sourceOf({ ...URI, ...ECS })).toBe('ecs-role');
    expect(sourceOf(URI)).toBe('uri');
  });

  it('derives the STS endpoint as the SDKs do, or takes ALIBABA_CLOUD_STS_ENDPOINT', () => {
    const sts = (env: NodeJS.ProcessEnv) =>
      loadConfig('uploader', { ...STORE, ...RRSA, ...env }).store.oss!.oidc!.stsEndpoint;
    expect(sts({})).toBe('https://sts.aliyuncs.com');
    expect(sts({ ALIBABA_CLOUD_STS_REGION: 'cn-hangzhou' })).toBe(
      'https://sts.cn-hangzhou.aliyuncs.com',
    );
    expect(
      sts({ ALIBABA_CLOUD_STS_REGION: 'cn-hangzhou', ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED: 'true' }),
    ).toBe('https://sts-vpc.cn-hangzhou.aliyuncs.com');
    expect(sts({ ALIBABA_CLOUD_STS_ENDPOINT: 'sts-vpc.cn-shanghai.aliyuncs.com' })).toBe(
      'https://sts-vpc.cn-shanghai.aliyuncs.com',
    );
    expect(sts({ ALIBABA_CLOUD_STS_ENDPOINT: 'http://127.0.0.1:8080' })).toBe(
      'http://127.0.0.1:8080',
    );
  });

  it('names what an incomplete source lacks', () => {
    expect(problems('uploader', { ...STORE, OSS_ACCESS_KEY_ID: 'id' })).toEqual([
      'OSS_ACCESS_KEY_SECRET: required with OSS_ACCESS_KEY_ID',
    ]);
    expect(
      problems('uploader', { ...STORE, ALIBABA_CLOUD_ROLE_ARN: RRSA.ALIBABA_CLOUD_ROLE_ARN }),
    ).toEqual([
      'ALIBABA_CLOUD_OIDC_PROVIDER_ARN: required with ALIBABA_CLOUD_ROLE_ARN (RRSA needs all three)',
      'ALIBABA_CLOUD_OIDC_TOKEN_FILE: required with ALIBABA_CLOUD_ROLE_ARN (RRSA needs all three)',
    ]);
    expect(problems('uploader', { ...STORE, ...URI, OSS_SECURITY_TOKEN: 'tok-123' })).toEqual([
      'OSS_SECURITY_TOKEN: needs OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET (the temporary keys it belongs to)',
    ]);
  });

  it('takes encryption and storage class, refusing values OSS would refuse', () => {
    const oss = loadConfig('uploader', {
      ...STORE,
      ...KEYS,
      OSS_SERVER_SIDE_ENCRYPTION: 'KMS',
      OSS_SSE_KMS_KEY_ID: 'key-1',
      OSS_STORAGE_CLASS: 'IA',
    }).store.oss!;
    expect(oss).toMatchObject({
      serverSideEncryption: 'KMS',
      kmsKeyId: 'key-1',
      storageClass: 'IA',
    });
    const bad = problems('uploader', {
      ...STORE,
      ...KEYS,
      OSS_SERVER_SIDE_ENCRYPTION: 'AES256',
      OSS_SSE_KMS_KEY_ID: 'key-1',
      OSS_STORAGE_CLASS: 'Glacier',
    });
    expect(bad.map((p) => p.slice(0, p.indexOf(':'))).sort()).toEqual(['OSS_STORAGE_CLASS']);
    expect(problems('uploader', { ...STORE, ...KEYS, OSS_SSE_KMS_KEY_ID: 'key-1' })).toEqual([
      'OSS_SSE_KMS_KEY_ID: only with OSS_SERVER_SIDE_ENCRYPTION=KMS',
    ]);
  });

  it('is neither read nor checked by the splitter and the compressor', () => {
    const broken = {
      LOGSPLIT_STORE_DRIVER: 'oss',
      OSS_ENDPOINT: 'nowhere',
      OSS_ACCESS_KEY_SECRET_FILE: '/does/not/exist',
      OSS_STORAGE_CLASS: 'Glacier',
    };
    for (const service of ['splitter', 'compressor']) {
      const c = loadConfig(service, broken);
      expect(c.store.driver).toBe('fs');
      expect(c.store.oss).toBeUndefined();
    }
    expect(
      problems('uploader', broken)
        .map((p) => p.slice(0, p.indexOf(':')))
        .sort(),
    ).toEqual(['OSS_ACCESS_KEY_SECRET_FILE']);
    const cli = problems('cli', { ...broken, OSS_ACCESS_KEY_SECRET_FILE: undefined });
    expect(cli.map((p) => p.slice(0, p.indexOf(':'))).sort()).toEqual([
      'OSS_ENDPOINT',
      'OSS_STORAGE_CLASS',
    ]);
  });
});
