import type { CredentialSource, CredentialsError } from './oss-credentials';
import { StorageError } from './storage-driver';

/** The fields ali-oss puts on the errors it throws (parsed from OSS's XML error, or urllib's). */
export interface AliOssError {
  name?: string;
  message?: string;
  status?: number;
  code?: string;
  requestId?: string;
}

export function asAliOssError(err: unknown): AliOssError {
  return typeof err === 'object' && err !== null ? err : { message: String(err) };
}

const NETWORK_ERRORS = new Set([
  'RequestError',
  'ConnectionTimeoutError',
  'ResponseTimeoutError',
  'ResponseError',
  'SocketAssignTimeoutError',
]);

/** Throttling and clock trouble pass; anything 5xx may be the store's own transient fault. */
const RETRYABLE_CODES = new Set(['RequestTimeout', 'RequestTimeTooSkewed', 'ServiceUnavailable']);

/** OSS refused the STS token: fetching new keys and retrying may well succeed. */
export const TOKEN_CODES = new Set(['SecurityTokenExpired', 'InvalidSecurityToken']);

/** OSS refused the keys themselves: someone has to fix a setting (or a RAM policy). */
const KEY_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidAccessKeyId.Inactive',
]);

/** No keys could be had (credentials endpoint down, token file missing): retried later. */
export function credentialsStorageError(
  op: string,
  key: string,
  err: CredentialsError,
): StorageError {
  return withReason(
    new StorageError(
      `${err.message} (no OSS credentials for ${op} of ${JSON.stringify(key)})`,
      op,
      key,
      true,
      'CredentialsUnavailable',
      { cause: err },
    ),
    err.message,
  );
}

/** The health reason of a store error: short, stable across requests, naming the setting. */
function withReason(err: StorageError, reason: string): StorageError {
  return Object.assign(err, { reason });
}

/**
 * One message that says what was being done to which key and what OSS (or the network) said,
 * naming the endpoint when it could not be reached at all.
 */
export function ossStorageError(
  op: string,
  key: string,
  endpoint: string,
  err: unknown,
  credentials?: Pick<CredentialSource, 'blame'>,
): StorageError {
  const e = asAliOssError(err);
  const what = `OSS ${op} of ${JSON.stringify(key)}`;
  const detail = (e.message ?? '').split(', please increase the timeout')[0];
  if (e.status === -1 || e.status === -2 || NETWORK_ERRORS.has(e.name ?? '')) {
    return withReason(
      new StorageError(
        `${what} failed: OSS_ENDPOINT ${endpoint} unreachable (${e.name ?? 'network error'}: ${detail})`,
        op,
        key,
        true,
        e.code ?? e.name,
        { cause: err },
      ),
      `OSS_ENDPOINT ${endpoint} unreachable (${e.name ?? 'network error'})`,
    );
  }
  const status = e.status ?? 0;
  const code = e.code ?? e.name ?? 'UnknownError';
  const retryable =
    status >= 500 || status === 429 || RETRYABLE_CODES.has(code) || TOKEN_CODES.has(code);
  // Refused keys lead the message with the setting to fix: it becomes the health reason.
  const refused =
    credentials && (TOKEN_CODES.has(code) || KEY_CODES.has(code))
      ? `${credentials.blame(code)} rejected by OSS (${code})`
      : code === 'NoSuchBucket'
        ? 'OSS_BUCKET does not exist (NoSuchBucket)'
        : '';
  const error = new StorageError(
    `${refused ? `${refused}: ` : ''}${what} failed: ${code}${status > 0 ? ` (HTTP ${status})` : ''}: ${detail}` +
      (e.requestId ? ` [request id ${e.requestId}]` : '') +
      (status > 0 ? ` at ${endpoint}` : ''),
    op,
    key,
    retryable,
    code,
    { cause: err },
  );
  return refused ? withReason(error, refused) : error;
}
