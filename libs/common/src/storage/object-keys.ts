import { unsafeAppIdReason } from '../app-id';
import { assertSafeKey } from './storage-driver';

/**
 * Where things live in the bucket. Segments are partitioned Hive-style by the UTC hour the
 * segment was created, so query engines and lifecycle rules can select by dt=/hh=; index entries
 * mirror that layout under <prefix>/_index/ so one app's index is one prefix to list. App ids
 * start with a letter or digit, so no app can be named _index.
 */
const SEGMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const EXTENSION = /^(\.[A-Za-z0-9]+)*$/;

export function segmentObjectKey(
  prefix: string,
  app: string,
  segmentId: string,
  createdAtMs: number,
  extension: string,
): string {
  if (!EXTENSION.test(extension))
    throw new Error(`bad segment extension: ${JSON.stringify(extension)}`);
  return checked(
    `${appPrefix(prefix, app)}${hourPath(createdAtMs)}/${checkedSegmentId(segmentId)}${extension}`,
  );
}

export function indexEntryKey(
  prefix: string,
  app: string,
  segmentId: string,
  createdAtMs: number,
): string {
  return checked(
    `${appIndexPrefix(prefix, app)}${hourPath(createdAtMs)}/${checkedSegmentId(segmentId)}.json`,
  );
}

/** The list prefix of every index entry of one app (ends with '/', so app 'a' excludes 'ab'). */
export function appIndexPrefix(prefix: string, app: string): string {
  return appPrefix(join(prefix, '_index'), app);
}

/** The list prefix of every segment of one app. */
export function appSegmentPrefix(prefix: string, app: string): string {
  return appPrefix(prefix, app);
}

function appPrefix(prefix: string, app: string): string {
  const reason = unsafeAppIdReason(app);
  if (reason)
    throw new Error(`app id ${JSON.stringify(app.slice(0, 200))} cannot name objects: ${reason}`);
  const key = join(prefix, app);
  assertSafeKey(key);
  return `${key}/`;
}

/** dt=YYYY-MM-DD/hh=HH of an instant, in UTC so every instance names the same hour the same. */
function hourPath(ms: number): string {
  if (!Number.isFinite(ms)) throw new Error(`bad segment creation time: ${ms}`);
  const iso = new Date(ms).toISOString(); // 2024-05-06T07:08:09.000Z
  return `dt=${iso.slice(0, 10)}/hh=${iso.slice(11, 13)}`;
}

function checkedSegmentId(id: string): string {
  if (!SEGMENT_ID.test(id)) throw new Error(`bad segment id: ${JSON.stringify(id.slice(0, 200))}`);
  return id;
}

function join(prefix: string, rest: string): string {
  return prefix === '' ? rest : `${prefix.replace(/\/+$/, '')}/${rest}`;
}

function checked(key: string): string {
  assertSafeKey(key);
  return key;
}
