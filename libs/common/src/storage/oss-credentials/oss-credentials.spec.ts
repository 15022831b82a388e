import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/config';
import { OssStorageDriver } from '../oss-storage.driver';
import { StorageError } from '../storage-driver';
import { CredentialsTestServer } from '../testing/credentials-test-server';
import { OssTestServer } from '../testing/oss-test-server';

// Every credential source against real local servers: the OSS test server (signatures and
// x-oss-security-token checked) and a metadata/STS/URI endpoint that rotates keys.

let oss: OssTestServer;
let creds: CredentialsTestServer;

beforeEach(async () => {
  oss = await OssTestServer.start();
  creds = await CredentialsTestServer.start(oss, { rotateEveryMs: 60_000, lifetimeMs: 120_000 });
});
afterEach(async () => {
  await creds.close();
  await oss.close();
});

/** A driver from the settings a user would set: the test server, minus its static keys. */
function driver(env: NodeJS.ProcessEnv): OssStorageDriver {
  const base = { ...oss.env(), OSS_ACCESS_KEY_ID: undefined, OSS_ACCESS_KEY_SECRET: undefined };
  return new OssStorageDriver(loadConfig('uploader', { ...base, ...env }).store.oss!);
}
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as StorageError,
  );

describe('OSS credential sources against local servers', () => {
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'rrsa-')), 'token');
  writeFileSync(tokenFile, 'eyJhbGciOiJSUzI1NiJ9.oidc-token\n');
  const sources: [string, () => NodeJS.ProcessEnv][] = [
    [
      'ECS RAM role',
      () => ({
        ALIBABA_CLOUD_ECS_METADATA: creds.roleName,
        LOGSPLIT_ECS_METADATA_ENDPOINT: creds.endpoint,
      }),
    ],
    ['credentials URI', () => ({ ALIBABA_CLOUD_CREDENTIALS_URI: `${creds.endpoint}/credentials` })],
    [
      'RRSA (OIDC)',
      () => ({
        ALIBABA_CLOUD_ROLE_ARN: 'acs:ram::123:role/logsplit',
        ALIBABA_CLOUD_OIDC_PROVIDER_ARN: 'acs:ram::123:oidc-provider/ack-rrsa-c1',
        ALIBABA_CLOUD_OIDC_TOKEN_FILE: tokenFile,
        ALIBABA_CLOUD_STS_ENDPOINT: creds.endpoint,
      }),
    ],
  ];
  it.each(sources)('%s: signs with the temporary keys and their token', async (_name, env) => {
    const store = driver(env());
    await store.putBuffer('a/b', Buffer.from('hello'));
    expect((await store.head('a/b'))?.size).toBe(5);
    expect(oss.requests.map((r) => [r.status, r.accessKeyId])).toEqual([
      [200, creds.issued[0].AccessKeyId],
      [200, creds.issued[0].AccessKeyId],
    ]);
    expect(creds.issued).toHaveLength(1); // cached, not fetched per request
  });

  it('sends the pod’s OIDC token to STS', async () => {
    await driver(sources[2][1]()).head('x');
    expect(creds.oidcTokens).toEqual(['eyJhbGciOiJSUzI1NiJ9.oidc-token']);
  });

  it('keeps uploading while keys rotate every second, none refused', async () => {
    await creds.close();
    creds = await CredentialsTestServer.start(oss, { rotateEveryMs: 1_000, lifetimeMs: 2_500 });
    const store = driver(sources[0][1]());
    const until = Date.now() + 5_000;
    const lanes = Array.from({ length: 4 }, async (_, lane) => {
      for (let i = 0; Date.now() < until; i++) {
        await store.putBuffer(`rot/${lane}/${i}`, Buffer.alloc(64 * 1024, i));
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    await Promise.all(lanes);
    const refused = oss.requests.filter((r) => r.status !== 200);
    expect(refused).toEqual([]);
    const keysUsed = new Set(oss.requests.map((r) => r.accessKeyId));
    expect(keysUsed.size).toBeGreaterThanOrEqual(3);
    expect(creds.issued.length).toBeGreaterThanOrEqual(3);
  }, 20_000);

  it('reports an unreachable metadata service by its setting, and recovers', async () => {
    creds.fail(true);
    const store = driver(sources[0][1]());
    const err = await failure(store.head('k'));
    expect(err).toBeInstanceOf(StorageError);
    expect(err!.message).toMatch(
      /^ALIBABA_CLOUD_ECS_METADATA: GET http:\/\/127\.0\.0\.1:\d+\/latest\/meta-data\/ram\/security-credentials\/logsplit-uploader answered HTTP 503/,
    );
    expect(err!.retryable).toBe(true);
    expect(oss.requests).toEqual([]);
    creds.fail(false);
    await new Promise((r) => setTimeout(r, 600)); // past the first retry backoff
    expect(await store.head('k')).toBeUndefined();
  });

  it('drops keys OSS calls expired and signs the retry with new ones', async () => {
    await creds.close();
    creds = await CredentialsTestServer.start(oss, { rotateEveryMs: 0, lifetimeMs: 60_000 });
    const store = driver(sources[1][1]());
    await store.head('k');
    const first = creds.issued[0];
    // Revoked early (as when STS keys are cut short): OSS answers SecurityTokenExpired.
    oss.setKey(first.AccessKeyId, first.AccessKeySecret, {
      securityToken: first.SecurityToken,
      expiresAt: Date.now() - 1,
    });
    const err = await failure(store.head('k'));
    expect((err as StorageError & { reason: string }).reason).toBe(
      'credentials from ALIBABA_CLOUD_CREDENTIALS_URI rejected by OSS (SecurityTokenExpired)',
    );
    expect(err!.retryable).toBe(true);
    expect(await store.head('k')).toBeUndefined();
    expect(oss.requests.map((r) => [r.status, r.accessKeyId])).toEqual([
      [404, first.AccessKeyId],
      [403, first.AccessKeyId],
      [404, creds.issued[1].AccessKeyId],
    ]);
  });

  it('STS keys without their token are refused, naming OSS_SECURITY_TOKEN', async () => {
    await oss.close();
    oss = await OssTestServer.start({ securityToken: 'CAIS-the-token' });
    const without = new OssStorageDriver({ ...oss.config(), securityToken: undefined });
    const err = await failure(without.head('k'));
    expect(err!.message).toMatch(/^OSS_SECURITY_TOKEN rejected by OSS \(InvalidSecurityToken\)/);
    // The health reason: short and the same for every request (no request id).
    expect((err as StorageError & { reason: string }).reason).toBe(
      'OSS_SECURITY_TOKEN rejected by OSS (InvalidSecurityToken)',
    );
    expect(await new OssStorageDriver(oss.config()).head('k')).toBeUndefined();
  });

  it('puts objects with the encryption and storage class asked for; HEAD still verifies', async () => {
    const store = new OssStorageDriver(
      oss.config({ serverSideEncryption: 'KMS', kmsKeyId: 'kms-key-1', storageClass: 'IA' }),
    );
    const info = await store.putBuffer('enc', Buffer.from('secret log line'));
    expect(await store.head('enc')).toEqual(info);
    expect(oss.objectOssHeaders('enc')).toEqual({
      'x-oss-server-side-encryption': 'KMS',
      'x-oss-server-side-encryption-key-id': 'kms-key-1',
      'x-oss-storage-class': 'IA',
    });
    expect(oss.requests[0]).toMatchObject({
      sse: 'KMS',
      kmsKeyId: 'kms-key-1',
      storageClass: 'IA',
    });
  });
});
