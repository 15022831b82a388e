import { createHash, randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, isIP } from 'node:net';
import { OssConfig } from '../oss-endpoint';
import { checkSignature, SignedRequest } from './oss-signature';
import { errorXml, listV2Xml, ListedObject } from './oss-xml';

/**
 * An in-memory stand-in for one OSS bucket, speaking enough of OSS's REST API for ali-oss:
 * PutObject, GetObject (ranges), HeadObject, DeleteObject and ListObjectsV2, with V1 and V4
 * signatures checked as OSS checks them. Listens on 127.0.0.1: for an IP endpoint ali-oss keeps
 * the IP in the URL and names the bucket in the Host header ('<bucket>.<region>.aliyuncs.com'),
 * which is where this server reads it from; a plain host name (cname addressing) means "the
 * bucket". Chaos tests inject faults with failNext() and read what happened from requests.
 */

export type OssOperation =
  'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject' | 'ListObjectsV2' | 'Unsupported';

export interface OssTestServerOptions {
  bucket?: string;
  region?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  /** OSS refuses requests signed more than 15 minutes away from its clock. */
  maxClockSkewMs?: number;
  clock?: () => number;
}

export interface RecordedRequest {
  method: string;
  /** Decoded object key; '' for bucket-level requests (listing). */
  key: string;
  op: OssOperation;
  status: number;
}

/** What an injected failure does: answer with an HTTP status, drop the connection, or never answer. */
export type InjectedFault = number | 'reset' | 'hang';

export interface FaultMatch {
  method?: string;
  key?: string;
  /** Carry the request out first (store the object, ...), then fail: the "ack lost" case. */
  afterApply?: boolean;
}

interface StoredObject {
  body: Buffer;
  md5: Buffer;
  contentType: string;
  lastModified: Date;
}

interface Fault {
  remaining: number;
  fault: InjectedFault;
  match: FaultMatch;
}

interface Reply {
  status: number;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
}

const STATUS_CODES: Record<number, string> = {
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
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, StoredObject>();
  private faults: Fault[] = [];
  private readonly maxClockSkewMs: number;
  private readonly clock: () => number;
  private readonly server: Server;

  private constructor(opts: OssTestServerOptions) {
    this.bucket = opts.bucket ?? 'logsplit-test';
    this.region = opts.region ?? 'cn-hangzhou';
    this.accessKeyId = opts.accessKeyId ?? 'test-access-key-id';
    this.accessKeySecret = opts.accessKeySecret ?? 'test-access-key-secret';
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

  /** Settings for OssStorageDriver (and StoreConfig.oss) that reach this server. */
  config(overrides: Partial<OssConfig> = {}): OssConfig {
    return {
      endpoint: this.endpoint,
      region: this.region,
      bucket: this.bucket,
      accessKeyId: this.accessKeyId,
      accessKeySecret: this.accessKeySecret,
      timeoutMs: 10_000,
      ...overrides,
    };
  }

  /** The next n requests that match fail with fault (default: 503 before doing anything). */
  failNext(n: number, fault: InjectedFault = 503, match: FaultMatch = {}): void {
    this.faults.push({ remaining: n, fault, match });
  }

  /** Requests received, optionally only those of one method and/or key. */
  count(method?: string, key?: string): number {
    return this.requests.filter(
      (r) => (!method || r.method === method) && (key === undefined || r.key === key),
    ).length;
  }

  /** Seeds an object without a request (big listings, corrupt objects). */
  putObject(key: string, body: Buffer, contentType = 'application/octet-stream'): void {
    const md5 = createHash('md5').update(body).digest();
    this.objects.set(key, { body, md5, contentType, lastModified: new Date(this.clock()) });
  }

  object(key: string): Buffer | undefined {
    return this.objects.get(key)?.body;
  }

  keys(): string[] {
    return sortedKeys(this.objects.keys());
  }

  reset(): void {
    this.objects.clear();
    this.requests.length = 0;
    this.faults = [];
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://oss');
    const key = decodeURIComponent(url.pathname.slice(1));
    const query = parseQuery(url.search);
    const method = req.method ?? 'GET';
    const op = operationOf(method, key, query);
    const record: RecordedRequest = { method, key, op, status: 0 };
    this.requests.push(record);
    const requestId = randomBytes(12).toString('hex').toUpperCase();
    const send = (reply: Reply) => {
      record.status = reply.status;
      this.reply(res, method, requestId, reply);
    };

    const bucket = bucketOf(req.headers.host, this.bucket);
    if (bucket !== this.bucket) {
      return send(
        this.error(404, 'NoSuchBucket', 'The specified bucket does not exist.', requestId),
      );
    }
    const signed: SignedRequest = { method, headers: req.headers, bucket, key, query };
    const authFailure = checkSignature(signed, this, this.clock(), this.maxClockSkewMs);
    if (authFailure) {
      const { status, code, message, extra } = authFailure;
      return send(this.error(status, code, message, requestId, extra));
    }

    const fault = this.takeFault(method, key);
    if (fault && !fault.match.afterApply)
      return this.inject(fault.fault, res, record, requestId, send);
    const reply = this.apply(op, method, key, query, req, body, requestId);
    if (fault) return this.inject(fault.fault, res, record, requestId, send);
    send(reply);
  }

  private apply(
    op: OssOperation,
    method: string,
    key: string,
    query: [string, string][],
    req: IncomingMessage,
    body: Buffer,
    requestId: string,
  ): Reply {
    switch (op) {
      case 'PutObject':
        return this.putObjectOp(key, req, body, requestId);
      case 'GetObject':
      case 'HeadObject':
        return this.getObjectOp(key, req, requestId, op === 'HeadObject');
      case 'DeleteObject':
        this.objects.delete(key);
        return { status: 204 };
      case 'ListObjectsV2':
        return this.listOp(new Map(query), requestId);
      default:
        return this.error(
          501,
          'NotImplemented',
          `${method} ${JSON.stringify(key)} with ${query.map(([k]) => k).join(',')} is not implemented by the test server`,
          requestId,
        );
    }
  }

  private putObjectOp(key: string, req: IncomingMessage, body: Buffer, requestId: string): Reply {
    if (Buffer.byteLength(key) > 1023)
      return this.error(400, 'InvalidObjectName', 'The specified object is not valid.', requestId);
    const md5 = createHash('md5').update(body).digest();
    const claimed = req.headers['content-md5']?.toString();
    if (claimed !== undefined && !Buffer.from(claimed, 'base64').equals(md5)) {
      return this.error(
        400,
        'InvalidDigest',
        'The Content-MD5 you specified is not valid.',
        requestId,
      );
    }
    const contentType = req.headers['content-type'] ?? 'application/octet-stream';
    this.objects.set(key, { body, md5, contentType, lastModified: new Date(this.clock()) });
    return { status: 200, headers: { ETag: etagOf(md5), 'Content-MD5': md5.toString('base64') } };
  }

  private getObjectOp(
    key: string,
    req: IncomingMessage,
    requestId: string,
    headOnly: boolean,
  ): Reply {
    const obj = this.objects.get(key);
    if (!obj)
      return this.error(404, 'NoSuchKey', 'The specified key does not exist.', requestId, {
        Key: key,
      });
    const size = obj.body.length;
    const headers: Record<string, string | number> = {
      'Content-Type': obj.contentType,
      ETag: etagOf(obj.md5),
      'Last-Modified': obj.lastModified.toUTCString(),
      'Accept-Ranges': 'bytes',
      'x-oss-object-type': 'Normal',
    };
    const range = headOnly ? undefined : parseRange(req.headers.range, size);
    if (range === 'unsatisfiable' && req.headers['x-oss-range-behavior'] === 'standard') {
      return this.error(416, 'InvalidRange', 'The requested range cannot be satisfied', requestId, {
        ActualObjectSize: String(size),
      });
    }
    if (range === undefined || range === 'unsatisfiable') {
      // OSS ignores a range it cannot serve unless asked for standard behaviour.
      headers['Content-MD5'] = obj.md5.toString('base64');
      return {
        status: 200,
        headers: { ...headers, 'Content-Length': size },
        body: headOnly ? undefined : obj.body,
      };
    }
    const [start, end] = range;
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    return {
      status: 206,
      headers: { ...headers, 'Content-Length': end - start + 1 },
      body: obj.body.subarray(start, end + 1),
    };
  }

  private listOp(q: Map<string, string>, requestId: string): Reply {
    const maxKeys = Number(q.get('max-keys') ?? 100);
    if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > 1000) {
      return this.error(
        400,
        'InvalidArgument',
        'Argument max-keys must be an integer between 1 and 1000.',
        requestId,
      );
    }
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') || undefined;
    const token = q.get('continuation-token');
    const from = token !== undefined ? Buffer.from(token, 'base64url').toString() : undefined;
    if (token !== undefined && !from)
      return this.error(
        400,
        'InvalidArgument',
        'The continuation token provided is incorrect',
        requestId,
      );
    const startAfter = q.get('start-after');
    const objects: ListedObject[] = [];
    const commonPrefixes: string[] = [];
    let next: string | undefined;
    for (const key of sortedKeys(this.objects.keys())) {
      if (!key.startsWith(prefix)) continue;
      if (
        from !== undefined
          ? compare(key, from) < 0
          : startAfter !== undefined && compare(key, startAfter) <= 0
      )
        continue;
      const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
      const common = cut < 0 ? undefined : key.slice(0, cut + delimiter!.length);
      if (common !== undefined && commonPrefixes.at(-1) === common) continue;
      if (objects.length + commonPrefixes.length === maxKeys) {
        next = key;
        break;
      }
      if (common !== undefined) {
        commonPrefixes.push(common);
      } else {
        const o = this.objects.get(key)!;
        objects.push({
          key,
          size: o.body.length,
          etag: etagOf(o.md5).slice(1, -1),
          lastModified: o.lastModified,
        });
      }
    }
    const xml = listV2Xml({
      bucket: this.bucket,
      prefix,
      delimiter,
      maxKeys,
      startAfter,
      continuationToken: token,
      nextContinuationToken:
        next === undefined ? undefined : Buffer.from(next).toString('base64url'),
      encodingType: q.get('encoding-type'),
      objects,
      commonPrefixes,
    });
    return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: xml };
  }

  private takeFault(method: string, key: string): Fault | undefined {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.match.method === undefined || f.match.method === method) &&
        (f.match.key === undefined || f.match.key === key),
    );
    if (fault) fault.remaining--;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return fault;
  }

  private inject(
    fault: InjectedFault,
    res: ServerResponse,
    record: RecordedRequest,
    requestId: string,
    send: (reply: Reply) => void,
  ): void {
    if (fault === 'hang') return; // close() ends it
    if (fault === 'reset') {
      record.status = -1;
      res.socket?.destroy();
      return;
    }
    send(
      this.error(
        fault,
        STATUS_CODES[fault] ?? 'InjectedFault',
        `injected failure (HTTP ${fault})`,
        requestId,
      ),
    );
  }

  private error(
    status: number,
    code: string,
    message: string,
    requestId: string,
    extra?: Record<string, string>,
  ): Reply {
    const body = errorXml({
      code,
      message,
      requestId,
      hostId: `${this.bucket}.oss-${this.region}.aliyuncs.com`,
      extra,
    });
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

  private reply(res: ServerResponse, method: string, requestId: string, reply: Reply): void {
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
    res.statusCode = reply.status;
    res.setHeader('Server', 'AliyunOSS');
    res.setHeader('Date', new Date(this.clock()).toUTCString());
    res.setHeader('x-oss-request-id', requestId);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (!res.hasHeader('Content-Length')) res.setHeader('Content-Length', body?.length ?? 0);
    res.end(method === 'HEAD' ? undefined : body);
  }
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

/** [start, end] of a single 'bytes=' range, 'unsatisfiable', or undefined for none/ignored. */
function parseRange(
  header: string | undefined,
  size: number,
): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return suffix === 0 || size === 0 ? 'unsatisfiable' : [Math.max(size - suffix, 0), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  return start >= size ? 'unsatisfiable' : [start, end];
}

function parseQuery(search: string): [string, string][] {
  return search
    .replace(/^\?/, '')
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const [k, v] = eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
      return [decodeURIComponent(k), decodeURIComponent(v)];
    });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function etagOf(md5: Buffer): string {
  return `"${md5.toString('hex').toUpperCase()}"`;
}

/** OSS lists keys in UTF-8 byte order. */
function compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function sortedKeys(keys: Iterable<string>): string[] {
  return [...keys].sort(compare);
}
