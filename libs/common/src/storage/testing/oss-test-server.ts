import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, isIP } from 'node:net';
import { OssConfig } from '../oss-endpoint';
import {
  FaultMatch,
  FaultQueue,
  InjectedFault,
  RandomFaultOptions,
  RandomFaults,
} from './oss-faults';
import { etagOf, md5Of, MemoryBucket, parseRange } from './oss-memory-bucket';
import { checkSignature, SigningSecrets } from './oss-signature';
import { errorXml, listV2Xml } from './oss-xml';

export type { FaultMatch, InjectedFault, RandomFaultOptions } from './oss-faults';

/**
 * An in-memory stand-in for one OSS bucket, speaking enough of OSS's REST API for ali-oss:
 * PutObject, GetObject (ranges), HeadObject, DeleteObject and ListObjectsV2, with V1 and V4
 * signatures checked as OSS checks them. Listens on 127.0.0.1: for an IP endpoint ali-oss keeps
 * the IP in the URL and names the bucket in the Host header ('<bucket>.<region>.aliyuncs.com'),
 * which is where this server reads it from; a dotless host name (cname addressing, e.g.
 * 'localhost') means "the bucket". Honours x-oss-forbid-overwrite (409 FileAlreadyExists) as
 * OSS does in an unversioned bucket. Tests inject faults with failNext() (exact) or
 * failRandomly() (chaos), and read what happened from requests and injectedFaults().
 * Keys: the one of the options (with securityToken: STS keys, the token required), more with
 * setKey(), temporary ones with issueTemporaryKeys() (what an STS or metadata endpoint hands out).
 * Puts honour x-oss-server-side-encryption(-key-id) and x-oss-storage-class as OSS validates
 * them; HEAD and GET answer them back.
 */

export type OssOperation =
  'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject' | 'ListObjectsV2' | 'Unsupported';

export interface OssTestServerOptions {
  bucket?: string;
  region?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  /** Makes the default key an STS key: requests must carry this x-oss-security-token. */
  securityToken?: string;
  /** OSS refuses requests signed more than 15 minutes away from its clock. */
  maxClockSkewMs?: number;
  clock?: () => number;
}

export interface RecordedRequest {
  method: string;
  /** Decoded object key; '' for bucket-level requests (listing). */
  key: string;
  op: OssOperation;
  /** HTTP status answered; -1 for a dropped connection, 0 while unanswered (or hung). */
  status: number;
  /** The fault injected into this request, if any. */
  fault?: InjectedFault;
  /** ListObjectsV2 only: the prefix listed. */
  prefix?: string;
  /** GetObject only: body bytes answered (a range's or the whole object's). */
  bytes?: number;
  /** The access key id the request was signed with. */
  accessKeyId?: string;
  /** PutObject only: the encryption and storage class headers sent. */
  sse?: string;
  kmsKeyId?: string;
  storageClass?: string;
}

/** Temporary keys as STS and instance metadata answer them. */
export interface TemporaryKeys {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  Expiration: string;
}

const SSE_VALUES = new Set(['AES256', 'KMS', 'SM4']);
const STORAGE_CLASSES = new Set(['Standard', 'IA', 'Archive', 'ColdArchive', 'DeepColdArchive']);

interface ParsedRequest {
  req: IncomingMessage;
  method: string;
  key: string;
  query: [string, string][];
  body: Buffer;
  op: OssOperation;
  requestId: string;
}

interface Reply {
  status: number;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
}

const ERROR_CODES: Record<number, string> = {
  400: 'InvalidArgument',
  403: 'AccessDenied',
  404: 'NoSuchKey',
  409: 'OperationAborted',
  429: 'TooManyRequests',
  500: 'InternalError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
};

export class OssTestServer {
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
  readonly requests: RecordedRequest[] = [];
  private readonly keysById = new Map<string, SigningSecrets>();
  /** Per object: the x-oss-* headers OSS answers back (encryption, storage class). */
  private readonly objectHeaders = new Map<string, Record<string, string>>();
  private readonly objects = new MemoryBucket();
  private readonly faults = new FaultQueue();
  private randomFaults?: RandomFaults;
  private injected = 0;
  private readonly maxClockSkewMs: number;
  private readonly clock: () => number;
  private readonly server: Server;

  private constructor(opts: OssTestServerOptions) {
    this.bucket = opts.bucket ?? 'logsplit-test';
    this.region = opts.region ?? 'cn-hangzhou';
    this.accessKeyId = opts.accessKeyId ?? 'test-access-key-id';
    this.accessKeySecret = opts.accessKeySecret ?? 'test-access-key-secret';
    this.securityToken = opts.securityToken;
    this.setKey(this.accessKeyId, this.accessKeySecret, { securityToken: this.securityToken });
    this.maxClockSkewMs = opts.maxClockSkewMs ?? 15 * 60_000;
    this.clock = opts.clock ?? Date.now;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  }

  static async start(opts: OssTestServerOptions = {}): Promise<OssTestServer> {
    const s = new OssTestServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, '127.0.0.1', resolve);
    });
    return s;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The environment that points a logsplit service or the CLI at this server. */
  env(): Record<string, string> {
    return {
      LOGSPLIT_STORE_DRIVER: 'oss',
      OSS_ENDPOINT: this.endpoint,
      OSS_REGION: this.region,
      OSS_BUCKET: this.bucket,
      OSS_ACCESS_KEY_ID: this.accessKeyId,
      OSS_ACCESS_KEY_SECRET: this.accessKeySecret,
      ...(this.securityToken !== undefined && { OSS_SECURITY_TOKEN: this.securityToken }),
    };
  }

  /** Accepts (or, with a new secret, re-keys) an access key; securityToken makes it STS. */
  setKey(
    accessKeyId: string,
    accessKeySecret: string,
    sts: { securityToken?: string; expiresAt?: number } = {},
  ): void {
    this.keysById.set(accessKeyId, { accessKeyId, accessKeySecret, region: this.region, ...sts });
  }

  removeKey(accessKeyId: string): void {
    this.keysById.delete(accessKeyId);
  }

  /** New STS keys valid for lifetimeMs from now, in the JSON form STS and metadata answer. */
  issueTemporaryKeys(lifetimeMs: number): TemporaryKeys {
    const keys = {
      AccessKeyId: `STS.${randomBytes(9).toString('hex')}`,
      AccessKeySecret: randomBytes(18).toString('base64url'),
      SecurityToken: `CAIS${randomUUID()}${randomBytes(24).toString('base64url')}`,
      // STS writes whole seconds; the key is refused from exactly that instant.
      Expiration: new Date(Math.floor((this.clock() + lifetimeMs) / 1000) * 1000)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
    };
    this.setKey(keys.AccessKeyId, keys.AccessKeySecret, {
      securityToken: keys.SecurityToken,
      expiresAt: Date.parse(keys.Expiration),
    });
    return keys;
  }

  /** The encryption and storage class headers stored with an object. */
  objectOssHeaders(key: string): Record<string, string> | undefined {
    return this.objectHeaders.get(key);
  }

  /** Settings for OssStorageDriver (and StoreConfig.oss) that reach this server. */
  config(
    overrides: Partial<OssConfig> = {},
  ): OssConfig & { accessKeyId: string; accessKeySecret: string } {
    return {
      endpoint: this.endpoint,
      region: this.region,
      bucket: this.bucket,
      accessKeyId: this.accessKeyId,
      accessKeySecret: this.accessKeySecret,
      securityToken: this.securityToken,
      timeoutMs: 10_000,
      ...overrides,
    };
  }

  /** The next n matching requests fail with fault (default: 503, before anything is done). */
  failNext(n: number, fault: InjectedFault = 503, match: FaultMatch = {}): void {
    this.faults.add(n, fault, match);
  }

  /**
   * From now on a share `rate` of the requests that pass the signature check fail with one of
   * `faults` (default 503, 500, 'reset', 'hang'; for 'hang' only the client's timeout ends the
   * request), half of them after being carried out unless afterApplyRate says otherwise.
   * failRandomly(undefined) turns it off. Queued failNext() faults take precedence.
   */
  failRandomly(opts: RandomFaultOptions | undefined): void {
    this.randomFaults = opts === undefined ? undefined : new RandomFaults(opts);
  }

  /** Faults injected so far, by failNext() and failRandomly() together. */
  injectedFaults(): number {
    return this.injected;
  }

  /** How many requests arrived, optionally only of one method and/or for one key. */
  count(method?: string, key?: string): number {
    return this.requests.filter(
      (r) => (method === undefined || r.method === method) && (key === undefined || r.key === key),
    ).length;
  }

  /** Seeds an object without a request (big listings, objects changed behind a client's back). */
  putObject(key: string, body: Buffer, contentType = 'application/octet-stream'): void {
    this.objects.put(key, body, contentType, new Date(this.clock()));
  }

  object(key: string): Buffer | undefined {
    return this.objects.get(key)?.body;
  }

  keys(): string[] {
    return this.objects.keys();
  }

  reset(): void {
    this.objects.clear();
    this.objectHeaders.clear();
    this.faults.clear();
    this.randomFaults = undefined;
    this.injected = 0;
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections(); // keep-alive sockets and requests hung on purpose
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = this.clock(); // OSS authenticates on arrival, before the body comes in
    const p = await parse(req);
    const record: RecordedRequest = { method: p.method, key: p.key, op: p.op, status: 0 };
    record.accessKeyId = /^OSS ([^:]+):|Credential=([^/]+)\//
      .exec(req.headers.authorization ?? '')
      ?.slice(1)
      .find(Boolean);
    if (p.op === 'ListObjectsV2') record.prefix = new Map(p.query).get('prefix') ?? '';
    this.requests.push(record);
    const send = (reply: Reply) => {
      record.status = reply.status;
      if (p.op === 'GetObject' && reply.status < 300) record.bytes = reply.body?.length ?? 0;
      this.write(res, p, reply);
    };

    const bucket = bucketOf(req.headers.host, this.bucket);
    if (bucket !== this.bucket) {
      return send(this.error(p, 404, 'NoSuchBucket', 'The specified bucket does not exist.'));
    }
    const denied = checkSignature(
      { ...p, headers: req.headers, bucket },
      (id) => this.keysById.get(id),
      arrived,
      this.maxClockSkewMs,
    );
    if (denied)
      return send(this.error(p, denied.status, denied.code, denied.message, denied.extra));

    const fault = this.faults.take(p.method, p.key) ?? this.randomFaults?.take();
    if (!fault) return send(this.apply(p));
    this.injected++;
    record.fault = fault.fault;
    if (fault.afterApply) this.apply(p);
    if (fault.fault === 'hang') return; // close() ends it
    if (fault.fault === 'reset') {
      record.status = -1;
      res.socket?.destroy();
      return;
    }
    const code = ERROR_CODES[fault.fault] ?? 'InjectedFault';
    send(this.error(p, fault.fault, code, `injected failure (HTTP ${fault.fault})`));
  }

  private apply(p: ParsedRequest): Reply {
    switch (p.op) {
      case 'PutObject':
        return this.ossHeadersProblem(p) ?? this.putObjectOp(p);
      case 'GetObject':
      case 'HeadObject':
        return this.getObjectOp(p);
      case 'DeleteObject':
        this.objects.delete(p.key); // 204 whether or not it existed, as OSS does
        return { status: 204 };
      case 'ListObjectsV2':
        return this.listOp(p);
      default:
        return this.error(
          p,
          501,
          'NotImplemented',
          `the test server does not implement ${p.method} ${p.req.url}`,
        );
    }
  }

  private putObjectOp(p: ParsedRequest): Reply {
    if (Buffer.byteLength(p.key) > 1023) {
      return this.error(p, 400, 'InvalidObjectName', 'The specified object is not valid.');
    }
    const claimed = p.req.headers['content-md5']?.toString();
    if (claimed !== undefined && !Buffer.from(claimed, 'base64').equals(md5Of(p.body))) {
      return this.error(p, 400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
    }
    if (p.req.headers['x-oss-forbid-overwrite'] === 'true' && this.objects.get(p.key)) {
      return this.error(
        p,
        409,
        'FileAlreadyExists',
        'The object you specified already exists and can not be overwritten.',
      );
    }
    const contentType = p.req.headers['content-type'] ?? 'application/octet-stream';
    const obj = this.objects.put(p.key, p.body, contentType, new Date(this.clock()));
    this.objectHeaders.set(p.key, storedOssHeaders(p.req));
    return {
      status: 200,
      headers: { ETag: `"${etagOf(obj.md5)}"`, 'Content-MD5': obj.md5.toString('base64') },
    };
  }

  private getObjectOp(p: ParsedRequest): Reply {
    const obj = this.objects.get(p.key);
    if (!obj)
      return this.error(p, 404, 'NoSuchKey', 'The specified key does not exist.', { Key: p.key });
    const size = obj.body.length;
    const headers: Record<string, string | number> = {
      'Content-Type': obj.contentType,
      ETag: `"${etagOf(obj.md5)}"`,
      'Last-Modified': obj.lastModified.toUTCString(),
      'Accept-Ranges': 'bytes',
      'x-oss-object-type': 'Normal',
      'x-oss-storage-class': 'Standard',
      ...this.objectHeaders.get(p.key),
    };
    const range = p.op === 'HeadObject' ? undefined : parseRange(p.req.headers.range, size);
    if (range === 'unsatisfiable' && p.req.headers['x-oss-range-behavior'] === 'standard') {
      return this.error(p, 416, 'InvalidRange', 'The requested range cannot be satisfied', {
        ActualObjectSize: String(size),
      });
    }
    if (range === undefined || range === 'unsatisfiable') {
      // Without standard behaviour OSS answers a range it cannot serve with the whole object.
      headers['Content-MD5'] = obj.md5.toString('base64');
      return { status: 200, headers: { ...headers, 'Content-Length': size }, body: obj.body };
    }
    const [start, end] = range;
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    headers['Content-Length'] = end - start + 1;
    return { status: 206, headers, body: obj.body.subarray(start, end + 1) };
  }

  /** OSS's 400s for encryption and storage class values it does not take. */
  private ossHeadersProblem(p: ParsedRequest): Reply | undefined {
    const h = p.req.headers;
    const sse = h['x-oss-server-side-encryption']?.toString();
    const keyId = h['x-oss-server-side-encryption-key-id']?.toString();
    const storageClass = h['x-oss-storage-class']?.toString();
    const record = this.requests.findLast((r) => r.key === p.key && r.op === 'PutObject');
    if (record) Object.assign(record, { sse, kmsKeyId: keyId, storageClass });
    if (sse !== undefined && !SSE_VALUES.has(sse)) {
      return this.error(
        p,
        400,
        'InvalidEncryptionAlgorithmError',
        'The Encryption request you specified is not valid. Supported value: AES256/KMS/SM4',
      );
    }
    if (keyId !== undefined && sse !== 'KMS') {
      return this.error(
        p,
        400,
        'InvalidArgument',
        'x-oss-server-side-encryption-key-id is only allowed with KMS encryption.',
      );
    }
    if (storageClass !== undefined && !STORAGE_CLASSES.has(storageClass)) {
      return this.error(p, 400, 'InvalidArgument', `Invalid storage class ${storageClass}.`);
    }
    return undefined;
  }

  private listOp(p: ParsedRequest): Reply {
    const q = new Map(p.query);
    const maxKeys = Number(q.get('max-keys') ?? 100);
    if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > 1000) {
      return this.error(
        p,
        400,
        'InvalidArgument',
        'Argument max-keys must be an integer between 1 and 1000.',
      );
    }
    // The token is opaque to clients; here it is the first key of the next page, base64url.
    const token = q.get('continuation-token');
    const from = token === undefined ? undefined : Buffer.from(token, 'base64url').toString();
    if (from === '')
      return this.error(p, 400, 'InvalidArgument', 'The continuation token provided is incorrect');
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') || undefined;
    const startAfter = q.get('start-after');
    const page = this.objects.list({ prefix, delimiter, maxKeys, from, startAfter });
    const xml = listV2Xml({
      ...page,
      bucket: this.bucket,
      prefix,
      delimiter,
      maxKeys,
      startAfter,
      continuationToken: token,
      nextContinuationToken:
        page.next === undefined ? undefined : Buffer.from(page.next).toString('base64url'),
      encodingType: q.get('encoding-type'),
    });
    return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: xml };
  }

  private error(
    p: ParsedRequest,
    status: number,
    code: string,
    message: string,
    extra?: Record<string, string>,
  ): Reply {
    const hostId = `${this.bucket}.oss-${this.region}.aliyuncs.com`;
    const body = errorXml({ code, message, requestId: p.requestId, hostId, extra });
    // OSS repeats the error document in x-oss-err, base64: the only place a HEAD can carry it.
    return {
      status,
      headers: {
        'Content-Type': 'application/xml',
        'x-oss-err': Buffer.from(body).toString('base64'),
      },
      body,
    };
  }

  private write(res: ServerResponse, p: ParsedRequest, reply: Reply): void {
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
    res.statusCode = reply.status;
    res.setHeader('Server', 'AliyunOSS');
    res.setHeader('Date', new Date(this.clock()).toUTCString());
    res.setHeader('x-oss-request-id', p.requestId);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (!res.hasHeader('Content-Length')) res.setHeader('Content-Length', body?.length ?? 0);
    res.end(p.method === 'HEAD' ? undefined : body);
  }
}

/** The encryption and storage class a put asked for, as OSS answers them back on HEAD/GET. */
function storedOssHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [
    'x-oss-server-side-encryption',
    'x-oss-server-side-encryption-key-id',
    'x-oss-storage-class',
  ]) {
    const value = req.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

async function parse(req: IncomingMessage): Promise<ParsedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://oss');
  const method = req.method ?? 'GET';
  const key = decodeURIComponent(url.pathname.slice(1));
  const query = parseQuery(url.search);
  const requestId = randomBytes(12).toString('hex').toUpperCase();
  return {
    req,
    method,
    key,
    query,
    body: Buffer.concat(chunks),
    op: operationOf(method, key, query),
    requestId,
  };
}

function operationOf(method: string, key: string, query: [string, string][]): OssOperation {
  const params = new Set(query.map(([k]) => k));
  if (key === '')
    return method === 'GET' && params.has('list-type') ? 'ListObjectsV2' : 'Unsupported';
  if (params.size > 0) return 'Unsupported'; // ?acl, ?append, ?uploads, ... are not served here
  const ops: Record<string, OssOperation> = {
    PUT: 'PutObject',
    GET: 'GetObject',
    HEAD: 'HeadObject',
    DELETE: 'DeleteObject',
  };
  return ops[method] ?? 'Unsupported';
}

/** '<bucket>.anything' names the bucket; an IP or a dotless name (cname addressing) means ours. */
function bucketOf(host: string | undefined, ours: string): string {
  const name = (host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (name === '' || isIP(name) !== 0 || !name.includes('.')) return ours;
  return name.slice(0, name.indexOf('.'));
}

/** Decoded query parameters in order; a parameter without '=' has the value ''. */
function parseQuery(search: string): [string, string][] {
  return search
    .replace(/^\?/, '')
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const [k, v] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
      return [decodeURIComponent(k), decodeURIComponent(v)];
    });
}
