import { Readable } from 'node:stream';
import { ByteRange, ObjectInfo, PutOptions, StorageDriver } from '@logsplit/common/storage';

/** What one command asked of the store: the evidence that a read stayed inside one app. */
export interface StoreUsage {
  /** List prefixes, one per listing (a listing may be several pages on OSS). */
  listed: string[];
  /** Every object read, with the bytes that came back (a range or the whole object). */
  reads: { key: string; range?: ByteRange; bytes: number }[];
}

/**
 * A StorageDriver that records each list and read it passes on. The read commands only list and
 * get; writes are passed through unrecorded.
 */
export class MeteredStore implements StorageDriver {
  readonly usage: StoreUsage = { listed: [], reads: [] };

  constructor(private readonly inner: StorageDriver) {}

  get name(): string {
    return this.inner.name;
  }

  list(prefix: string): AsyncIterable<string> {
    this.usage.listed.push(prefix);
    return this.inner.list(prefix);
  }

  async getBuffer(key: string, range?: ByteRange): Promise<Buffer> {
    const body = await this.inner.getBuffer(key, range);
    this.usage.reads.push({ key, ...(range ? { range } : {}), bytes: body.length });
    return body;
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    // Buffered so the bytes can be counted; the read path fetches bounded ranges only.
    return Readable.from([await this.getBuffer(key, range)]);
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }

  putFile(key: string, path: string, opts?: PutOptions): Promise<ObjectInfo> {
    return this.inner.putFile(key, path, opts);
  }

  putBuffer(key: string, body: Buffer, opts?: PutOptions): Promise<ObjectInfo> {
    return this.inner.putBuffer(key, body, opts);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

/** Totals of a usage, split into index entries and data objects. */
export function summarizeUsage(usage: StoreUsage, indexPrefix: string) {
  const index = usage.reads.filter((r) => r.key.startsWith(indexPrefix));
  const data = usage.reads.filter((r) => !r.key.startsWith(indexPrefix));
  const sum = (rs: { bytes: number }[]) => rs.reduce((n, r) => n + r.bytes, 0);
  return {
    listings: usage.listed.length,
    indexObjects: new Set(index.map((r) => r.key)).size,
    indexBytes: sum(index),
    dataObjects: new Set(data.map((r) => r.key)).size,
    dataRequests: data.length,
    dataBytes: sum(data),
  };
}
