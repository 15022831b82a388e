import { Readable } from 'node:stream';
import { backoffDelay, sleep } from '../util/backoff';
import { isRetryableStoreError } from './store-errors';
import { ByteRange, ObjectInfo, PutOptions, StorageDriver } from './storage-driver';

export interface StoreRetryOptions {
  /** Attempts after the first; 0 turns retrying off. */
  retries: number;
  /** First backoff ceiling; doubles each attempt up to maxDelayMs (full jitter in the upper half). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Told of each retry before its wait: count it, log it. */
  onRetry?: (event: StoreRetryEvent) => void;
  /** Waits between attempts (tests replace it). */
  sleep?: (ms: number) => Promise<void>;
}

export interface StoreRetryEvent {
  op: string;
  key: string;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/**
 * Retries another driver's failed operations with capped exponential backoff and jitter, so a
 * store that stutters (5xx, throttling, timeouts, dropped connections, a NAS hiccup) costs time,
 * never data. Only retryable errors are retried (isRetryableStoreError); the last error is
 * thrown unchanged. Safe because every operation is idempotent: a put is atomic and replaces
 * with the same bytes, or with ifAbsent reports ObjectExistsError when an earlier attempt
 * stored it after all (the caller compares); a delete of a missing key succeeds.
 *
 * The per-request timeout belongs to the driver that can abort the request (OSS: ali-oss's
 * timeout, OSS_TIMEOUT_MS); a timeout here could only abandon an operation, not stop it.
 */
export class RetryingStorageDriver implements StorageDriver {
  readonly name: string;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(
    private readonly inner: StorageDriver,
    private readonly opts: StoreRetryOptions,
  ) {
    this.name = inner.name;
    this.wait = opts.sleep ?? sleep;
  }

  putFile(key: string, path: string, opts?: PutOptions): Promise<ObjectInfo> {
    return this.retry('put', key, () => this.inner.putFile(key, path, opts));
  }

  putBuffer(key: string, body: Buffer, opts?: PutOptions): Promise<ObjectInfo> {
    return this.retry('put', key, () => this.inner.putBuffer(key, body, opts));
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.retry('head', key, () => this.inner.head(key));
  }

  /** Retries opening the stream; an error while it is read is the reader's to handle. */
  getStream(key: string, range?: ByteRange): Promise<Readable> {
    return this.retry('get', key, () => this.inner.getStream(key, range));
  }

  getBuffer(key: string, range?: ByteRange): Promise<Buffer> {
    return this.retry('get', key, () => this.inner.getBuffer(key, range));
  }

  /** A listing that fails midway starts over and skips what it already yielded (byte order). */
  async *list(prefix: string): AsyncIterable<string> {
    let last: Buffer | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        for await (const key of this.inner.list(prefix)) {
          const k = Buffer.from(key);
          if (last !== undefined && Buffer.compare(k, last) <= 0) continue;
          last = k;
          yield key;
        }
        return;
      } catch (err) {
        await this.beforeRetry('list', prefix, attempt, err);
      }
    }
  }

  delete(key: string): Promise<void> {
    return this.retry('delete', key, () => this.inner.delete(key));
  }

  private async retry<T>(op: string, key: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        await this.beforeRetry(op, key, attempt, err);
      }
    }
  }

  /** Throws err when it is final; otherwise reports the retry and waits for it. */
  private async beforeRetry(op: string, key: string, attempt: number, err: unknown) {
    if (attempt >= this.opts.retries || !isRetryableStoreError(err)) throw err;
    const delayMs = backoffDelay(attempt, this.opts.baseDelayMs, this.opts.maxDelayMs);
    this.opts.onRetry?.({ op, key, attempt: attempt + 1, delayMs, error: err });
    await this.wait(delayMs);
  }
}
