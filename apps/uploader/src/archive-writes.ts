import { IndexEntry, ObjectExistsError, ObjectInfo, StorageDriver } from '@logsplit/common';
import { ArchiveConflictError } from './archive-conflict-error';
import { sameIndexEntry } from '@logsplit/common';

/**
 * Stores key create-if-absent. An object already there (an earlier attempt's, before a crash
 * or with its answer lost) completes the step when it has the expected size and md5; anything
 * else there is an ArchiveConflictError, never overwritten.
 */
export async function createOnce(
  store: StorageDriver,
  key: string,
  expected: { size: number; md5: string },
  put: () => Promise<unknown>,
): Promise<void> {
  const check = (stored: ObjectInfo) => {
    if (stored.size !== expected.size || stored.md5 !== expected.md5) {
      throw new ArchiveConflictError(key, describeObject(stored), describeObject(expected));
    }
  };
  // Looking first spares re-sending a whole segment after a crash.
  const before = await store.head(key);
  if (before) return check(before);
  try {
    await put();
  } catch (err) {
    if (!(err instanceof ObjectExistsError)) throw err;
    const stored = await store.head(key);
    if (!stored) throw new Error(`${key} was reported to exist, then not found; will retry`);
    check(stored);
  }
}

/** The first entry written stays (create-if-absent); an equal one found there completes the step. */
export async function writeIndexEntryOnce(
  store: StorageDriver,
  indexKey: string,
  entry: IndexEntry,
): Promise<void> {
  try {
    await store.putBuffer(indexKey, Buffer.from(JSON.stringify(entry)), {
      contentType: 'application/json',
      ifAbsent: true,
    });
  } catch (err) {
    if (!(err instanceof ObjectExistsError)) throw err;
    const body = await store.getBuffer(indexKey);
    let stored: unknown;
    try {
      stored = JSON.parse(body.toString('utf8'));
    } catch {
      stored = undefined;
    }
    if (!sameIndexEntry(stored, entry)) {
      throw new ArchiveConflictError(
        indexKey,
        `an index entry of ${body.length} bytes that differs from this segment's`,
        `${entry.records} records in ${entry.bytes} bytes, md5 ${entry.md5}`,
      );
    }
  }
}

export function describeObject(o: { size: number; md5: string } | undefined): string {
  return o ? `${o.size} bytes md5 ${o.md5 || 'unknown'}` : 'nothing';
}
