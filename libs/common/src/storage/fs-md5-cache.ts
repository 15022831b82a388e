import { BigIntStats } from 'node:fs';

/**
 * Remembers the md5 of file versions so head() need not re-read a 64 MiB segment each time. A
 * version is (device, inode, size, mtime, ctime): a put renames a new inode into place and any
 * in-place write moves ctime, so a stale entry can never match. Bounded; least recently used go.
 */
export class Md5Cache {
  private readonly entries = new Map<string, { version: string; md5: string }>();

  constructor(private readonly capacity = 10_000) {}

  get(path: string, stats: BigIntStats): string | undefined {
    const entry = this.entries.get(path);
    if (!entry || entry.version !== versionOf(stats)) return undefined;
    this.entries.delete(path);
    this.entries.set(path, entry);
    return entry.md5;
  }

  set(path: string, stats: BigIntStats, md5: string): void {
    this.entries.delete(path);
    this.entries.set(path, { version: versionOf(stats), md5 });
    if (this.entries.size > this.capacity) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }

  delete(path: string): void {
    this.entries.delete(path);
  }
}

function versionOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}
