import type OSS from 'ali-oss';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileMd5, isMd5Hex, md5Base64ToHex, md5Hex, md5HexToBase64 } from './md5';
import { OssConfig, ossAddressing } from './oss-endpoint';
import {
  CredentialsError,
  OssCredentials,
  ossCredentials,
  RefreshingCredentials,
} from './oss-credentials';
import { asAliOssError, credentialsStorageError, ossStorageError, TOKEN_CODES } from './oss-errors';
import { readAll } from './read-all';
import {
  assertSafeKey,
  assertSafePrefix,
  assertValidRange,
  ByteRange,
  ChecksumMismatchError,
  InvalidRangeError,
  NotFoundError,
  ObjectExistsError,
  ObjectInfo,
  PutOptions,
  StorageDriver,
  StorageError,
} from './storage-driver';

export interface OssDriverOptions {
  /**
   * 4 (default): OSS4-HMAC-SHA256. OSS stopped offering V1 (HMAC-SHA1) to new accounts in March
   * 2025 and to new buckets in September 2025; 1 remains for old buckets and OSS look-alikes.
   */
  signatureVersion?: 1 | 4;
  /** Keys per ListObjectsV2 page; OSS allows at most 1000. */
  listPageSize?: number;
  /** Where the keys come from; by default the chain of the config's credential settings. */
  credentials?: RefreshingCredentials;
}

type Headers = Record<string, string | undefined>;

/**
 * Alibaba Cloud OSS through ali-oss. Every put carries Content-MD5, so OSS itself refuses bytes
 * that differ from the ones hashed (InvalidDigest) and a simple put is atomic on OSS's side.
 * Requests time out after OssConfig.timeoutMs (ali-oss's own per-request timeout, which aborts
 * the HTTP request); retries are RetryingStorageDriver's, not ali-oss's retryMax, which retries
 * network errors only, without backoff, and never a streamed put.
 */
export class OssStorageDriver implements StorageDriver {
  readonly name = 'oss';
  private readonly client: OSS;
  private readonly endpoint: string;
  private readonly listPageSize: number;
  private readonly credentials: RefreshingCredentials;
  /** x-oss-server-side-encryption, -key-id and x-oss-storage-class of every put. */
  private readonly putHeaders: Headers;

  constructor(config: OssConfig, opts: OssDriverOptions = {}) {
    const signatureVersion = opts.signatureVersion ?? 4;
    const addressing = ossAddressing(config, signatureVersion);
    this.endpoint = config.endpoint;
    this.listPageSize = Math.min(Math.max(opts.listPageSize ?? 1000, 1), 1000);
    this.credentials = opts.credentials ?? ossCredentials(config);
    this.putHeaders = {
      'x-oss-server-side-encryption': config.serverSideEncryption,
      'x-oss-server-side-encryption-key-id': config.kmsKeyId,
      'x-oss-storage-class': config.storageClass,
    };
    // Static keys are known now; temporary ones are fetched before the first request. Until then
    // the client holds placeholders that no request is ever signed with (see ready()).
    const known = config.accessKeyId && config.accessKeySecret ? config : undefined;
    try {
      // Required here, not imported: ali-oss takes ~150 ms of CPU to load, and the fs driver's
      // services (the default) never need it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const Client = require('ali-oss') as typeof OSS;
      this.client = new Client({
        endpoint: addressing.endpoint,
        secure: addressing.secure,
        cname: addressing.cname,
        region: addressing.region,
        bucket: config.bucket,
        accessKeyId: known?.accessKeyId ?? 'pending',
        accessKeySecret: known?.accessKeySecret ?? 'pending',
        stsToken: known ? known.securityToken : 'pending',
        // With a token, ali-oss asks for keys before every request (interval 0) and signs it
        // with what it gets: the cache's current keys. A request already sent keeps the keys it
        // was signed with, so a refresh never breaks an upload in flight.
        refreshSTSToken: async () => aliKeys(await this.credentials.get()),
        refreshSTSTokenInterval: 0,
        timeout: config.timeoutMs,
        authorizationV4: signatureVersion === 4,
      });
    } catch (err) {
      // ali-oss's own words ("The bucket must be conform to the specifications") name no setting.
      throw new Error(
        `cannot set up OSS for bucket ${JSON.stringify(config.bucket)} at ${config.endpoint}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async putFile(key: string, path: string, opts: PutOptions = {}): Promise<ObjectInfo> {
    assertSafeKey(key);
    // Without a caller's md5, hash the file first: OSS then checks the bytes it received.
    const { md5, size } = opts.md5
      ? { md5: opts.md5, size: (await stat(path)).size }
      : await fileMd5(path);
    // A path makes ali-oss stream the file with a Content-Length (no chunked encoding).
    return this.put(key, md5, size, opts, (client, options) => client.put(key, path, options));
  }

  async putBuffer(key: string, body: Buffer, opts: PutOptions = {}): Promise<ObjectInfo> {
    assertSafeKey(key);
    const md5 = opts.md5 ?? md5Hex(body);
    return this.put(key, md5, body.length, opts, (client, options) =>
      client.put(key, body, options),
    );
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    const client = await this.ready('head', key);
    let result: OSS.HeadObjectResult;
    try {
      result = await client.head(key);
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw this.failure('head', key, err);
    }
    const headers = result.res.headers as Headers;
    return { key, size: Number(headers['content-length'] ?? 0), md5: md5FromHeaders(headers) };
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    assertSafeKey(key);
    assertValidRange(key, range);
    // 'standard' makes OSS answer 416 to a range past the end instead of the whole object.
    const headers = range
      ? { Range: `bytes=${range.start}-${range.end}`, 'x-oss-range-behavior': 'standard' }
      : {};
    const client = await this.ready('get', key);
    let result: OSS.GetStreamResult;
    try {
      result = await client.getStream(key, { headers });
    } catch (err) {
      if (isNoSuchKey(err)) throw new NotFoundError(key);
      if (range && asAliOssError(err).status === 416) throw new InvalidRangeError(key, range);
      throw this.failure('get', key, err);
    }
    const stream = result.stream as Readable;
    if (range && result.res.status !== 206) {
      // A store that ignored Range sent the whole object: returning it would corrupt the read.
      stream.destroy();
      throw new StorageError(
        `OSS get of ${JSON.stringify(key)} failed: asked for bytes ${range.start}-${range.end}, got HTTP ${result.res.status}`,
        'get',
        key,
        false,
      );
    }
    return stream;
  }

  async getBuffer(key: string, range?: ByteRange): Promise<Buffer> {
    return readAll(await this.getStream(key, range));
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertSafePrefix(prefix);
    let token: string | undefined;
    do {
      const query: OSS.ListV2ObjectsQuery = { 'max-keys': this.listPageSize };
      // An empty prefix is left out: signers disagree on how to canonicalize 'prefix='.
      if (prefix !== '') query.prefix = prefix;
      if (token !== undefined) query['continuation-token'] = token;
      const client = await this.ready('list', prefix);
      let page: OSS.ListV2ObjectResult;
      try {
        page = await client.listV2(query, {});
      } catch (err) {
        throw this.failure('list', prefix, err);
      }
      for (const object of page.objects ?? []) yield object.name;
      token = page.isTruncated ? page.nextContinuationToken || undefined : undefined;
      if (page.isTruncated && token === undefined) {
        throw new StorageError(
          `OSS list of ${JSON.stringify(prefix)}: truncated page without a continuation token`,
          'list',
          prefix,
          false,
        );
      }
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    const client = await this.ready('delete', key);
    try {
      await client.delete(key);
    } catch (err) {
      // OSS answers 204 for a missing key; a look-alike may say 404. Both mean "not there".
      if (!isNoSuchKey(err)) throw this.failure('delete', key, err);
    }
  }

  /**
   * The client, once usable keys are in the cache (fetched now if there are none): ali-oss's
   * refreshSTSToken hook then signs with them without waiting. No keys: a retryable StorageError
   * naming the credential setting.
   */
  private async ready(op: string, key: string): Promise<OSS> {
    try {
      await this.credentials.get();
    } catch (err) {
      throw credentialsStorageError(op, key, err as CredentialsError);
    }
    return this.client;
  }

  /** An OSS failure as StorageError; refused keys name their setting, a dead token is dropped. */
  private failure(op: string, key: string, err: unknown): StorageError {
    if (err instanceof CredentialsError) return credentialsStorageError(op, key, err);
    const code = asAliOssError(err).code ?? '';
    if (TOKEN_CODES.has(code)) this.credentials.invalidate();
    return ossStorageError(op, key, this.endpoint, err, this.credentials.source);
  }

  private async put(
    key: string,
    md5: string,
    size: number,
    opts: PutOptions,
    send: (client: OSS, options: OSS.PutObjectOptions) => Promise<OSS.PutObjectResult>,
  ): Promise<ObjectInfo> {
    const headers: Headers = { 'Content-MD5': md5HexToBase64(md5) };
    for (const [name, value] of Object.entries(this.putHeaders)) if (value) headers[name] = value;
    // Signed like every x-oss-* header (V1 and V4). OSS ignores it in versioned buckets.
    if (opts.ifAbsent) headers['x-oss-forbid-overwrite'] = 'true';
    const client = await this.ready('put', key);
    let result: OSS.PutObjectResult;
    try {
      result = await send(client, { headers, mime: opts.contentType });
    } catch (err) {
      const { code, status } = asAliOssError(err);
      if (code === 'InvalidDigest' || code === 'BadDigest')
        throw new ChecksumMismatchError(key, md5);
      if (opts.ifAbsent && status === 409 && code === 'FileAlreadyExists')
        throw new ObjectExistsError(key);
      throw this.failure('put', key, err);
    }
    const stored = md5FromHeaders(result.res.headers as Headers);
    if (stored !== '' && stored !== md5) throw new ChecksumMismatchError(key, md5, stored);
    return { key, size, md5 };
  }
}

/** ali-oss's names for a set of keys. */
function aliKeys(c: OssCredentials) {
  return {
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    stsToken: c.securityToken ?? '',
  };
}

/** A 404 with code NoSuchKey, or a bodiless 404 (HEAD has no body to carry the code). */
function isNoSuchKey(err: unknown): boolean {
  const e = asAliOssError(err);
  return e.status === 404 && (e.code === 'NoSuchKey' || e.code === undefined);
}

/**
 * OSS reports a simple object's MD5 in Content-MD5, and its ETag is the same MD5 in upper-case
 * hex. A multipart ETag ('<hex>-<parts>') is no MD5 of the bytes: then the md5 is unknown ('').
 */
function md5FromHeaders(headers: Headers): string {
  const fromContentMd5 = headers['content-md5']
    ? md5Base64ToHex(headers['content-md5'])
    : undefined;
  if (fromContentMd5) return fromContentMd5;
  const etag = (headers.etag ?? '').replace(/^(W\/)?"|"$/g, '').toLowerCase();
  return isMd5Hex(etag) ? etag : '';
}
