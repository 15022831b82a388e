import { Readable } from 'node:stream';

/** What the store knows of one stored object. */
export interface ObjectInfo {
  key: string;
  size: number;
  /**
   * Lower-case hex MD5 of the object's bytes, as the store itself reports it; '' when the store
   * cannot tell (an OSS multipart object, which logsplit never writes), so a compare fails safe.
   */
  md5: string;
}

export interface PutOptions {
  /** Lower-case hex MD5 the caller computed; the store must reject the upload if it differs. */
  md5?: string;
  contentType?: string;
  /**
   * Create-if-absent: store only when no object is at key, else throw ObjectExistsError and
   * change nothing. Archives are written so, and never overwritten (OSS x-oss-forbid-overwrite).
   */
  ifAbsent?: boolean;
}

/** Inclusive byte range [start, end]; an end past the object's last byte is clamped to it. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The one seam between logsplit and an object store. Keys are '/'-separated, relative, and never
 * contain '.' or '..' segments. Implementations must make a put atomic: a reader sees either no
 * object or the whole object.
 */
export interface StorageDriver {
  readonly name: string;
  /** Uploads a local file under key, replacing any object there (unless opts.ifAbsent). */
  putFile(key: string, path: string, opts?: PutOptions): Promise<ObjectInfo>;
  /** Uploads a small in-memory object (index entries). */
  putBuffer(key: string, body: Buffer, opts?: PutOptions): Promise<ObjectInfo>;
  /** Size and MD5 of an object, or undefined when there is none. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /**
   * Reads an object, or the inclusive byte range [start, end] of it. Throws NotFoundError, and
   * InvalidRangeError when start lies past the last byte.
   */
  getStream(key: string, range?: ByteRange): Promise<Readable>;
  getBuffer(key: string, range?: ByteRange): Promise<Buffer>;
  /** Every key that starts with prefix (a string prefix, not a directory), in byte order. */
  list(prefix: string): AsyncIterable<string>;
  /** Deletes an object; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
}

export class NotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'NotFoundError';
  }
}

/** The bytes that arrived are not the bytes the caller hashed: nothing was stored. */
export class ChecksumMismatchError extends Error {
  constructor(
    readonly key: string,
    readonly expectedMd5: string,
    readonly actualMd5?: string,
  ) {
    super(
      `md5 mismatch storing ${key}: expected ${expectedMd5}` +
        (actualMd5 ? `, got ${actualMd5}` : ', the store computed a different one') +
        '; nothing was stored',
    );
    this.name = 'ChecksumMismatchError';
  }
}

/** A create-if-absent put found an object at its key: nothing was stored. */
export class ObjectExistsError extends Error {
  constructor(readonly key: string) {
    super(`object already exists, not overwritten: ${key}`);
    this.name = 'ObjectExistsError';
  }
}

export class InvalidRangeError extends Error {
  constructor(
    readonly key: string,
    readonly range: ByteRange,
    size?: number,
  ) {
    super(
      `invalid byte range ${range.start}-${range.end} of ${key}` +
        (size === undefined ? '' : ` (object has ${size} bytes)`),
    );
    this.name = 'InvalidRangeError';
  }
}

/**
 * A store operation failed for a reason other than a missing object or a bad checksum. Says which
 * operation on which key; retryable when another attempt may succeed (network, 5xx, throttling).
 */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly op: string,
    readonly key: string,
    readonly retryable: boolean,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** Control characters break listings and logs; a backslash is a path separator on Windows. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_KEY_CHARS = /[\u0000-\u001f\u007f\\]/;

/**
 * Refuses keys that could escape the bucket prefix on a filesystem or confuse a store. The length
 * bound is OSS's: 1023 bytes of UTF-8.
 */
export function assertSafeKey(key: string): void {
  if (
    key.length === 0 ||
    Buffer.byteLength(key, 'utf8') > 1023 ||
    key.startsWith('/') ||
    key.endsWith('/') ||
    key.split('/').some((s) => s === '' || s === '.' || s === '..') ||
    FORBIDDEN_KEY_CHARS.test(key)
  ) {
    throw new Error(`unsafe object key: ${JSON.stringify(key.slice(0, 200))}`);
  }
}

/** A list prefix is '' (everything) or a safe key, optionally followed by one '/'. */
export function assertSafePrefix(prefix: string): void {
  if (prefix === '') return;
  try {
    assertSafeKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  } catch {
    throw new Error(`unsafe list prefix: ${JSON.stringify(prefix.slice(0, 200))}`);
  }
}

/** Checks a range's shape before any I/O; whether it fits the object is the store's to say. */
export function assertValidRange(key: string, range: ByteRange | undefined): void {
  if (
    range &&
    !(
      Number.isSafeInteger(range.start) &&
      Number.isSafeInteger(range.end) &&
      range.start >= 0 &&
      range.end >= range.start
    )
  ) {
    throw new InvalidRangeError(key, range);
  }
}
