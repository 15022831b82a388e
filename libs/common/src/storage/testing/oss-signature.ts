import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { IncomingHttpHeaders } from 'node:http';

/**
 * Server-side checks of OSS request signatures, V1 (HMAC-SHA1) and V4 (OSS4-HMAC-SHA256), written
 * from OSS's documentation and cross-checked against ali-oss 6.23 (lib/common/signUtils.js): the
 * test server must refuse exactly what OSS refuses, or a signing bug would only show in production.
 */

export interface SignedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  bucket: string;
  /** Object key, decoded; '' for a bucket-level request. */
  key: string;
  /** Decoded query parameters in arrival order; '' for a parameter sent without a value. */
  query: [string, string][];
}

export interface SigningSecrets {
  accessKeyId: string;
  accessKeySecret: string;
  region: string;
  /** STS keys: requests must carry this x-oss-security-token (signed like any x-oss-* header). */
  securityToken?: string;
  /** STS keys: refused from this time (ms) on, as OSS refuses an expired token. */
  expiresAt?: number;
}

/** The secrets of the key a request names; undefined for a key the server does not know. */
export type SecretsLookup = (accessKeyId: string) => SigningSecrets | undefined;

export interface AuthFailure {
  status: number;
  code: string;
  message: string;
  extra?: Record<string, string>;
}

/** Query parameters that V1 signs (OSS's list of sub-resources); others are not signed. */
const V1_SUB_RESOURCES = new Set(
  `acl append asyncFetch bucketInfo callback callback-var cname comp continuation-token cors
   delete encryption endTime img inventory inventoryId lifecycle live location logging
   objectMeta partNumber policy position qos referer replication replicationLocation
   replicationProgress requestPayment response-cache-control response-content-disposition
   response-content-encoding response-content-language response-content-type response-expires
   restore security-token sequential startTime stat status style styleName symlink tagging
   uploadId uploads versionId versioning versions vod website worm wormExtend wormId
   x-oss-process x-oss-request-payer x-oss-traffic-limit`.split(/\s+/),
);

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.';

export function checkSignature(
  req: SignedRequest,
  secrets: SigningSecrets | SecretsLookup,
  now: number,
  maxSkewMs: number,
): AuthFailure | undefined {
  const lookup: SecretsLookup =
    typeof secrets === 'function'
      ? secrets
      : (id) => (id === secrets.accessKeyId ? secrets : undefined);
  return checkAuthorization(req, lookup, now, maxSkewMs) ?? checkSecurityToken(req, lookup, now);
}

function checkAuthorization(
  req: SignedRequest,
  secrets: SecretsLookup,
  now: number,
  maxSkewMs: number,
): AuthFailure | undefined {
  const auth = header(req.headers, 'authorization');
  if (auth === undefined)
    return {
      status: 403,
      code: 'AccessDenied',
      message: 'You have no right to access this object because of bucket acl.',
    };
  if (auth.startsWith('OSS4-HMAC-SHA256 ')) return checkV4(req, auth, secrets, now, maxSkewMs);
  if (auth.startsWith('OSS ')) return checkV1(req, auth, secrets, now, maxSkewMs);
  return {
    status: 400,
    code: 'InvalidArgument',
    message: `Authorization header is invalid: ${auth.slice(0, 40)}`,
  };
}

function checkV1(
  req: SignedRequest,
  auth: string,
  secrets: SecretsLookup,
  now: number,
  maxSkewMs: number,
) {
  const [, accessKeyId, signature] = /^OSS ([^:]+):(.+)$/.exec(auth) ?? [];
  if (accessKeyId === undefined || signature === undefined) {
    return { status: 400, code: 'InvalidArgument', message: 'Authorization header is invalid.' };
  }
  const s = secrets(accessKeyId);
  if (!s) return invalidKeyId(accessKeyId);
  // ali-oss sends x-oss-date and no Date; OSS takes x-oss-date over Date when both are there.
  const date = header(req.headers, 'x-oss-date') ?? header(req.headers, 'date');
  const skew = checkSkew(date === undefined ? NaN : Date.parse(date), now, maxSkewMs);
  if (skew) return skew;
  const subResources = req.query
    .filter(([k]) => V1_SUB_RESOURCES.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`));
  const resource =
    `/${req.bucket}/${req.key}` + (subResources.length ? `?${subResources.join('&')}` : '');
  const stringToSign = [
    req.method,
    header(req.headers, 'content-md5') ?? '',
    header(req.headers, 'content-type') ?? '',
    date ?? '',
    ...ossHeaders(req.headers).map(([k, v]) => `${k}:${v}`),
    resource,
  ].join('\n');
  const expected = createHmac('sha1', s.accessKeySecret)
    .update(stringToSign, 'utf8')
    .digest('base64');
  if (!sameText(expected, signature)) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: MISMATCH,
      extra: { OSSAccessKeyId: accessKeyId, StringToSign: stringToSign },
    };
  }
  return undefined;
}

function checkV4(
  req: SignedRequest,
  auth: string,
  secrets: SecretsLookup,
  now: number,
  maxSkewMs: number,
) {
  const fields = new Map(
    auth
      .slice('OSS4-HMAC-SHA256 '.length)
      .split(',')
      .map((part) => part.trim().split('=', 2) as [string, string]),
  );
  const credential = (fields.get('Credential') ?? '').split('/');
  const signature = fields.get('Signature');
  if (credential.length !== 5 || signature === undefined) {
    return { status: 400, code: 'InvalidArgument', message: 'Authorization header is invalid.' };
  }
  const [accessKeyId = '', day, region, product, terminator] = credential;
  const s = secrets(accessKeyId);
  if (!s) return invalidKeyId(accessKeyId);
  const date = header(req.headers, 'x-oss-date') ?? '';
  const skew = checkSkew(parseV4Date(date), now, maxSkewMs);
  if (skew) return skew;
  if (
    day !== date.slice(0, 8) ||
    region !== s.region ||
    product !== 'oss' ||
    terminator !== 'aliyun_v4_request'
  ) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: `Invalid credential scope ${credential.slice(1).join('/')}; expected ${date.slice(0, 8)}/${s.region}/oss/aliyun_v4_request.`,
    };
  }
  const payloadHash = header(req.headers, 'x-oss-content-sha256');
  if (payloadHash === undefined) {
    return {
      status: 400,
      code: 'InvalidArgument',
      message: 'Missing x-oss-content-sha256 header.',
    };
  }
  const additional = (fields.get('AdditionalHeaders') ?? '').split(';').filter((h) => h !== '');
  const signed = new Set([
    ...additional,
    ...Object.keys(req.headers).filter(
      (h) => h === 'content-type' || h === 'content-md5' || h.startsWith('x-oss-'),
    ),
  ]);
  const canonicalRequest = [
    req.method,
    encodeV4(`/${req.bucket}/${req.key}`).replace(/%2F/g, '/'),
    [...req.query]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => (v === '' ? encodeV4(k) : `${encodeV4(k)}=${encodeV4(v)}`))
      .join('&'),
    [...signed]
      .sort()
      .map((h) => `${h}:${(header(req.headers, h) ?? '').trim()}\n`)
      .join(''),
    additional.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/oss/aliyun_v4_request`;
  const stringToSign = ['OSS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`aliyun_v4${s.accessKeySecret}`, day);
  for (const part of [region, 'oss', 'aliyun_v4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  if (!sameText(expected, signature)) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: MISMATCH,
      extra: {
        OSSAccessKeyId: accessKeyId,
        StringToSign: stringToSign,
        CanonicalRequest: canonicalRequest,
      },
    };
  }
  return undefined;
}

/**
 * After a good signature: STS keys need their own token, before it expires (OSS answers 403
 * InvalidSecurityToken / SecurityTokenExpired). `now` is when the request arrived: OSS
 * authenticates a request once, so an upload that outlives its token completes.
 */
function checkSecurityToken(
  req: SignedRequest,
  secrets: SecretsLookup,
  now: number,
): AuthFailure | undefined {
  const auth = header(req.headers, 'authorization') ?? '';
  const id = /^OSS ([^:]+):/.exec(auth)?.[1] ?? /Credential=([^/]+)\//.exec(auth)?.[1] ?? '';
  const s = secrets(id);
  if (s?.securityToken === undefined) return undefined;
  const token = header(req.headers, 'x-oss-security-token');
  if (token === undefined || !sameText(token, s.securityToken)) {
    return {
      status: 403,
      code: 'InvalidSecurityToken',
      message: 'The security token you provided is invalid.',
    };
  }
  if (s.expiresAt !== undefined && now >= s.expiresAt) {
    return {
      status: 403,
      code: 'SecurityTokenExpired',
      message: 'The security token you provided has expired.',
    };
  }
  return undefined;
}

function invalidKeyId(id: string): AuthFailure {
  return {
    status: 403,
    code: 'InvalidAccessKeyId',
    message: 'The OSS Access Key Id you provided does not exist in our records.',
    extra: { OSSAccessKeyId: id },
  };
}

function checkSkew(dateMs: number, now: number, maxSkewMs: number): AuthFailure | undefined {
  if (Number.isNaN(dateMs))
    return {
      status: 403,
      code: 'AccessDenied',
      message: 'OSS authentication requires a valid Date.',
    };
  if (Math.abs(dateMs - now) > maxSkewMs) {
    return {
      status: 403,
      code: 'RequestTimeTooSkewed',
      message: 'The difference between the request time and the current time is too large.',
    };
  }
  return undefined;
}

/** yyyymmddTHHMMssZ → ms. */
function parseV4Date(d: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(d);
  if (!m) return NaN;
  const [y = 0, mo = 0, day = 0, h = 0, mi = 0, sec = 0] = m.slice(1).map(Number);
  return Date.UTC(y, mo - 1, day, h, mi, sec);
}

/** x-oss-* headers, lower-case and sorted by name, values trimmed: CanonicalizedOSSHeaders. */
function ossHeaders(headers: IncomingHttpHeaders): [string, string][] {
  return Object.keys(headers)
    .filter((h) => h.startsWith('x-oss-'))
    .sort()
    .map((h) => [h, (header(headers, h) ?? '').trim()]);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** RFC 3986 encoding, as OSS's V4 canonical forms want ('!', "'", '(', ')', '*' escaped too). */
function encodeV4(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
