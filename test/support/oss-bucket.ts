import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { OssTestServer } from '@logsplit/testing';

/**
 * Records in the index entries the OSS test server holds right now: the archive's progress,
 * read in-process (no request, so injected faults do not disturb the count). Parsed entries are
 * cached by key and size, since an entry is only ever rewritten with the same content.
 */
export class IndexedRecords {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly oss: OssTestServer,
    private readonly prefix: string,
  ) {}

  count(): number {
    let n = 0;
    for (const key of this.oss.keys()) {
      if (!key.startsWith(`${this.prefix}/_index/`) || !key.endsWith('.json')) continue;
      let records = this.seen.get(key);
      if (records === undefined) {
        try {
          const body = this.oss.object(key);
          records = body ? (JSON.parse(body.toString('utf8')) as { records: number }).records : 0;
        } catch {
          records = 0; // not ours to judge here: the audit reports unreadable entries
        }
        this.seen.set(key, records);
      }
      n += records;
    }
    return n;
  }
}

/** Copies every object of the OSS test server into `dir` (key = relative path) for the audit. */
export function mirrorBucket(oss: OssTestServer, dir: string): number {
  const keys = oss.keys();
  for (const key of keys) {
    const body = oss.object(key);
    if (!body) continue;
    const file = resolve(dir, key);
    if (!file.startsWith(resolve(dir) + sep))
      throw new Error(`object key escapes the bucket: ${key}`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body);
  }
  return keys.length;
}
