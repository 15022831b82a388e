import { createHash } from 'node:crypto';
import { ListedObject } from './oss-xml';

export interface StoredObject {
  body: Buffer;
  md5: Buffer;
  contentType: string;
  lastModified: Date;
}

export interface ListV2Params {
  prefix: string;
  delimiter?: string;
  maxKeys: number;
  /** Decoded continuation token: the first key of the page. */
  from?: string;
  startAfter?: string;
}

/**
 * One bucket's objects in memory, with OSS's semantics for what a request sees: UTF-8 byte order
 * in listings, delimiters folding keys into common prefixes, HTTP range rules.
 */
export class MemoryBucket {
  private readonly objects = new Map<string, StoredObject>();

  put(key: string, body: Buffer, contentType: string, now: Date): StoredObject {
    const obj = { body, md5: md5Of(body), contentType, lastModified: now };
    this.objects.set(key, obj);
    return obj;
  }

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  delete(key: string): void {
    this.objects.delete(key);
  }

  clear(): void {
    this.objects.clear();
  }

  keys(): string[] {
    return [...this.objects.keys()].sort(byteOrder);
  }

  /** One ListObjectsV2 page, and the key the next page starts from (if any). */
  list(p: ListV2Params): { objects: ListedObject[]; commonPrefixes: string[]; next?: string } {
    const objects: ListedObject[] = [];
    const commonPrefixes: string[] = [];
    for (const key of this.keys()) {
      if (!key.startsWith(p.prefix)) continue;
      if (
        p.from !== undefined
          ? byteOrder(key, p.from) < 0
          : p.startAfter !== undefined && byteOrder(key, p.startAfter) <= 0
      ) {
        continue;
      }
      const cut = p.delimiter === undefined ? -1 : key.indexOf(p.delimiter, p.prefix.length);
      const common = cut < 0 ? undefined : key.slice(0, cut + p.delimiter!.length);
      if (common !== undefined && commonPrefixes.at(-1) === common) continue;
      if (objects.length + commonPrefixes.length === p.maxKeys)
        return { objects, commonPrefixes, next: key };
      if (common !== undefined) {
        commonPrefixes.push(common);
      } else {
        const o = this.objects.get(key)!;
        objects.push({
          key,
          size: o.body.length,
          etag: etagOf(o.md5),
          lastModified: o.lastModified,
        });
      }
    }
    return { objects, commonPrefixes };
  }
}

/** [start, end] of a single 'bytes=' range, 'unsatisfiable', or undefined for none (or ignored). */
export function parseRange(
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
  if (m[2] !== '' && Number(m[2]) < start) return undefined; // malformed: served as no range
  if (start >= size) return 'unsatisfiable';
  return [start, m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)];
}

/** OSS's ETag of a simple upload: the MD5 in upper-case hex (quoted on the wire). */
export function etagOf(md5: Buffer): string {
  return md5.toString('hex').toUpperCase();
}

export function md5Of(body: Buffer): Buffer {
  return createHash('md5').update(body).digest();
}

/** OSS lists keys in UTF-8 byte order. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
