import {
  ChecksumMismatchError,
  InvalidRangeError,
  NotFoundError,
  ObjectExistsError,
  StorageError,
} from './storage-driver';

/**
 * Errors of a local or network filesystem (the fs driver on a NAS) that another attempt may not
 * meet: an NFS soft mount reports a server timeout as EIO or ETIMEDOUT, a failed-over server as
 * ESTALE. ENOSPC, EACCES and the like stay until someone acts: no point in retrying them here.
 */
const TRANSIENT_FS_CODES = new Set([
  'EAGAIN',
  'EBUSY',
  'EINTR',
  'EIO',
  'ETIMEDOUT',
  'ESTALE',
  'ECONNRESET',
  'EMFILE',
  'ENFILE',
]);

/**
 * Whether a failed store operation is worth another attempt: the store's 5xx, throttling,
 * timeouts and dropped connections are; a refused signature (403), a missing object, an object
 * that exists where it must not, a bad range or a refused key are not. A checksum mismatch is:
 * the usual cause is bytes damaged on the way, and each attempt sends them again.
 */
export function isRetryableStoreError(err: unknown): boolean {
  if (err instanceof StorageError) return err.retryable;
  if (err instanceof ChecksumMismatchError) return true;
  if (
    err instanceof NotFoundError ||
    err instanceof ObjectExistsError ||
    err instanceof InvalidRangeError
  ) {
    return false;
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && TRANSIENT_FS_CODES.has(code);
}
