import OSS from 'ali-oss';
import { OssStorageDriver } from '../oss-storage.driver';
import { StorageError } from '../storage-driver';
import { OssTestServer } from './oss-test-server';

/** The request ali-oss hands to urllib, after signing: the place to tamper like a bad proxy. */
interface OutgoingRequest {
  url: string;
  params: { headers: Record<string, string> };
}
type Tamper = (req: OutgoingRequest) => void;

interface UrllibLike {
  request(url: string, params: OutgoingRequest['params']): Promise<unknown>;
}

let server: OssTestServer;
beforeAll(async () => {
  server = await OssTestServer.start();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

function client(
  signatureVersion: 1 | 4,
  overrides: Partial<OSS.Options> = {},
  tamper?: Tamper,
): OSS {
  const c = new OSS({
    endpoint: server.endpoint,
    region: `oss-${server.region}`,
    bucket: server.bucket,
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
    authorizationV4: signatureVersion === 4,
    ...overrides,
  });
  if (tamper) {
    const holder = c as unknown as { urllib: UrllibLike };
    const real = holder.urllib;
    holder.urllib = {
      request: (url, params) => {
        const req = { url, params: { ...params, headers: { ...params.headers } } };
        tamper(req);
        return real.request(req.url, req.params);
      },
    };
  }
  return c;
}

async function failure(
  p: Promise<unknown>,
): Promise<{ status?: number; code?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { status?: number; code?: string; message: string };
  }
  throw new Error('expected the request to fail');
}

describe.each([1, 4] as const)('OssTestServer with ali-oss V%i signatures', (version) => {
  it('serves put, get, ranged get, head, list and delete', async () => {
    const c = client(version);
    await c.put('a/b c+d.txt', Buffer.from('hello world'));
    expect(((await c.get('a/b c+d.txt')).content as Buffer).toString()).toBe('hello world');
    const ranged = await c.get('a/b c+d.txt', { headers: { Range: 'bytes=6-10' } });
    expect([ranged.res.status, (ranged.content as Buffer).toString()]).toEqual([206, 'world']);
    const head = await c.head('a/b c+d.txt');
    expect((head.res.headers as Record<string, string>).etag).toBe(
      '"5EB63BBBE01EEED093CB22BB8F5ACDC3"',
    );
    expect((await c.listV2({ prefix: 'a/' })).objects.map((o) => o.name)).toEqual(['a/b c+d.txt']);
    await c.delete('a/b c+d.txt');
    expect(server.keys()).toEqual([]);
  });

  it('refuses a wrong secret with SignatureDoesNotMatch and stores nothing', async () => {
    const err = await failure(
      client(version, { accessKeySecret: 'wrong' }).put('k', Buffer.from('x')),
    );
    expect(err).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(server.keys()).toEqual([]);
  });

  it('requires STS keys’ own x-oss-security-token, signed, before it expires', async () => {
    const keys = server.issueTemporaryKeys(60_000);
    const sts = (token: string, tamper?: Tamper) =>
      client(
        version,
        {
          accessKeyId: keys.AccessKeyId,
          accessKeySecret: keys.AccessKeySecret,
          stsToken: token,
          refreshSTSTokenInterval: 3_600_000, // no refresh: the token given is the one tested
        },
        tamper,
      );
    expect((await sts(keys.SecurityToken).put('k', Buffer.from('x'))).res.status).toBe(200);
    const noToken = client(version, {
      accessKeyId: keys.AccessKeyId,
      accessKeySecret: keys.AccessKeySecret,
    });
    expect(await failure(noToken.head('k'))).toMatchObject({ code: 'InvalidSecurityToken' });
    expect(await failure(sts('CAIS-someone-elses').head('k'))).toMatchObject({
      status: 403,
      code: 'InvalidSecurityToken',
    });
    // Swapped after signing (by a proxy): the signature covers it.
    const swapped = sts(keys.SecurityToken, (r) => {
      r.params.headers['x-oss-security-token'] = 'CAIS-swapped';
    });
    expect(await failure(swapped.head('k'))).toMatchObject({ code: 'SignatureDoesNotMatch' });
    server.setKey(keys.AccessKeyId, keys.AccessKeySecret, {
      securityToken: keys.SecurityToken,
      expiresAt: Date.now() - 1,
    });
    expect(await failure(sts(keys.SecurityToken).head('k'))).toMatchObject({
      status: 403,
      code: 'SecurityTokenExpired',
    });
  });

  it('refuses an unknown access key id with InvalidAccessKeyId', async () => {
    const err = await failure(client(version, { accessKeyId: 'nobody' }).head('k'));
    expect(err).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
  });

  it.each<[string, Tamper]>([
    ['the object key', (r) => void (r.url = r.url.replace('/k1', '/k2'))],
    ['Content-MD5', (r) => void (r.params.headers['Content-MD5'] = 'AAAAAAAAAAAAAAAAAAAAAA==')],
    ['Content-Type', (r) => void (r.params.headers['Content-Type'] = 'text/html')],
    ['an x-oss- header', (r) => void (r.params.headers['x-oss-meta-app'] = 'other')],
  ])('notices %s changed after signing', async (_what, tamper) => {
    const put = client(version, {}, tamper).put('k1', Buffer.from('x'), {
      mime: 'text/plain',
      headers: { 'x-oss-meta-app': 'billing' },
    });
    expect(await failure(put)).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(server.keys()).toEqual([]);
  });

  it('honours x-oss-forbid-overwrite with 409 FileAlreadyExists, and signs it', async () => {
    const forbid = { headers: { 'x-oss-forbid-overwrite': 'true' } };
    await client(version).put('once', Buffer.from('first'), forbid);
    expect(await failure(client(version).put('once', Buffer.from('second'), forbid))).toMatchObject(
      { status: 409, code: 'FileAlreadyExists' },
    );
    const strip = (r: OutgoingRequest) => void delete r.params.headers['x-oss-forbid-overwrite'];
    expect(
      await failure(client(version, {}, strip).put('once', Buffer.from('third'), forbid)),
    ).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(server.object('once')?.toString()).toBe('first');
    await client(version).put('once', Buffer.from('replaced')); // without the header: replaces
    expect(server.object('once')?.toString()).toBe('replaced');
  });

  it('ignores changes to headers that are not signed', async () => {
    await client(version, {}, (r) => void (r.params.headers['User-Agent'] = 'changed')).put(
      'k',
      Buffer.from('x'),
    );
    expect(server.keys()).toEqual(['k']);
  });

  it('signs the continuation token of a listing', async () => {
    ['a', 'b', 'c'].forEach((k) => server.putObject(k, Buffer.from(k)));
    const page = await client(version).listV2({ 'max-keys': 1 });
    const token = page.nextContinuationToken;
    const swap = (r: OutgoingRequest) =>
      void (r.url = r.url.replace(encodeURIComponent(token), 'Yw'));
    const err = await failure(
      client(version, {}, swap).listV2({ 'continuation-token': token, 'max-keys': 1 }),
    );
    expect(err).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
  });

  it('refuses requests signed with a clock 20 minutes off', async () => {
    const skewed = await OssTestServer.start({ clock: () => Date.now() + 20 * 60_000 });
    try {
      const c = new OSS({
        ...skewed.config(),
        region: `oss-${skewed.region}`,
        authorizationV4: version === 4,
      });
      expect(await failure(c.head('k'))).toMatchObject({
        status: 403,
        code: 'RequestTimeTooSkewed',
      });
    } finally {
      await skewed.close();
    }
  });
});

describe('OssTestServer', () => {
  it('signs query parameters in V4 but only sub-resources in V1, as OSS does', async () => {
    ['a', 'b'].forEach((k) => server.putObject(k, Buffer.from(k)));
    const moreKeys = (r: OutgoingRequest) =>
      void (r.url = r.url.replace('max-keys=1', 'max-keys=2'));
    expect((await client(1, {}, moreKeys).listV2({ 'max-keys': 1 })).objects).toHaveLength(2);
    expect(await failure(client(4, {}, moreKeys).listV2({ 'max-keys': 1 }))).toMatchObject({
      status: 403,
    });
  });

  it('refuses a V4 signature scoped to another region', async () => {
    const err = await failure(client(4, { region: 'oss-us-west-1' }).head('k'));
    expect(err).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
  });

  it('refuses a request without an Authorization header', async () => {
    const res = await fetch(`${server.endpoint}/k`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('answers NoSuchKey and NoSuchBucket', async () => {
    expect(await failure(client(4).get('missing'))).toMatchObject({
      status: 404,
      code: 'NoSuchKey',
    });
    expect(await failure(client(4, { bucket: 'other-bucket' }).get('k'))).toMatchObject({
      status: 404,
      code: 'NoSuchBucket',
    });
  });

  it('serves the whole object for an unsatisfiable range unless asked for standard behaviour', async () => {
    server.putObject('r', Buffer.from('0123'));
    const lax = await client(4).get('r', { headers: { Range: 'bytes=10-20' } });
    expect([lax.res.status, (lax.content as Buffer).toString()]).toEqual([200, '0123']);
    const strict = client(4).get('r', {
      headers: { Range: 'bytes=10-20', 'x-oss-range-behavior': 'standard' },
    });
    expect(await failure(strict)).toMatchObject({ status: 416, code: 'InvalidRange' });
    const suffix = await client(4).get('r', { headers: { Range: 'bytes=-2' } });
    expect((suffix.content as Buffer).toString()).toBe('23');
  });

  it('lists with a delimiter as common prefixes and bounds max-keys', async () => {
    ['d/1', 'd/x/1', 'd/x/2', 'd/y/1', 'e'].forEach((k) => server.putObject(k, Buffer.from(k)));
    const page = await client(4).listV2({ prefix: 'd/', delimiter: '/' });
    expect([page.objects.map((o) => o.name), page.prefixes]).toEqual([['d/1'], ['d/x/', 'd/y/']]);
    expect(await failure(client(4).listV2({ 'max-keys': 1001 }))).toMatchObject({
      status: 400,
      code: 'InvalidArgument',
    });
  });

  it('injects failures for matching requests only, and counts requests by method and key', async () => {
    const c = client(4);
    server.failNext(2, 500, { method: 'PUT' });
    expect(await failure(c.put('k', Buffer.from('x')))).toMatchObject({
      status: 500,
      code: 'InternalError',
    });
    await c.head('k').catch(() => undefined); // a HEAD is not a PUT: passes through (404)
    expect(await failure(c.put('k', Buffer.from('x')))).toMatchObject({ status: 500 });
    await c.put('k', Buffer.from('x'));
    server.failNext(1, 'reset');
    expect((await failure(c.get('k'))).status).toBe(-1);
    expect([
      server.count('PUT', 'k'),
      server.count('HEAD'),
      server.count('GET', 'k'),
      server.count(),
    ]).toEqual([3, 1, 1, 5]);
    expect(server.requests.map((r) => r.status)).toEqual([500, 404, 500, 200, -1]);
  });

  it('fails a random share of requests, reproducibly for a seed, and counts what it injected', async () => {
    const c = client(4, { timeout: 300 });
    const run = async (seed: number) => {
      server.reset();
      server.failRandomly({ rate: 0.3, seed });
      const statuses: (number | string)[] = [];
      for (let i = 0; i < 40; i++) {
        statuses.push(
          await c.put(`r/${i}`, Buffer.from('x')).then(
            (r) => r.res.status,
            (e: { status?: number; name?: string }) =>
              e.name === 'ResponseTimeoutError' ? 'timeout' : (e.status ?? String(e.name)),
          ),
        );
      }
      return { statuses, injected: server.injectedFaults() };
    };
    const a = await run(7);
    const b = await run(7);
    expect(b).toEqual(a);
    const failed = a.statuses.filter((st) => st !== 200).length;
    expect(a.injected).toBe(failed);
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(40);
    expect(new Set(a.statuses.filter((st) => st !== 200))).toEqual(
      new Set([500, 503, -1, 'timeout']),
    );
    // Half the failed puts were carried out before failing: stored although the client saw an error.
    const storedAnyway = server.requests.filter(
      (r) => r.fault !== undefined && server.object(r.key),
    );
    expect(storedAnyway.length).toBeGreaterThan(0);
    expect(storedAnyway.length).toBeLessThan(failed);

    server.failRandomly(undefined);
    await c.put('r/after', Buffer.from('x'));
    expect(server.injectedFaults()).toBe(a.injected);
  });

  it('fails every request at rate 1 with the faults given, and refuses a rate outside 0..1', async () => {
    server.failRandomly({ rate: 1, faults: [502] });
    expect(await failure(client(4).head('k'))).toMatchObject({ status: 502 });
    expect(server.injectedFaults()).toBe(1);
    expect(() => server.failRandomly({ rate: 1.5 })).toThrow(/rate must be within 0..1, got 1.5/);
  });

  it('gives the driver a clear, non-retryable error for a wrong secret', async () => {
    const store = new OssStorageDriver(server.config({ accessKeySecret: 'not-the-secret' }));
    const err = (await store
      .putBuffer('logs/app/seg.log.gz', Buffer.from('x'))
      .catch((e: unknown) => e)) as StorageError;
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toMatch(
      /^OSS_ACCESS_KEY_SECRET rejected by OSS \(SignatureDoesNotMatch\): OSS put of "logs\/app\/seg.log.gz" failed: SignatureDoesNotMatch \(HTTP 403\): The request signature we calculated does not match/,
    );
    expect(err.message).toContain(`at ${server.endpoint}`);
    expect(err.retryable).toBe(false);
  });
});
