import { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempName } from './fs-atomic-write';
import { assertSafeKey } from './storage-driver';

/**
 * Keys of the files under root that start with prefix, in the byte order an object store lists
 * them. Depth-first with each directory's entries sorted by name + '/' (files by name alone):
 * every key below directory d starts with 'd/', so this yields full keys in order (e.g. 'a-b'
 * before 'a/c', as '-' < '/') without holding more than one directory listing per level.
 */
export async function* listKeys(root: string, prefix: string): AsyncGenerator<string> {
  const slash = prefix.lastIndexOf('/');
  const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
  const dir = dirKey === '' ? root : join(root, ...dirKey.split('/'));
  yield* walk(dir, dirKey, prefix.slice(slash + 1));
}

async function* walk(dir: string, dirKey: string, namePrefix: string): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return;
    throw err;
  }
  const items = entries
    .filter((e) => e.name.startsWith(namePrefix) && !isTempName(e.name))
    .filter((e) => e.isFile() || e.isDirectory())
    .map((e) => ({ name: e.name, isDir: e.isDirectory() }))
    .map((e) => ({ ...e, order: Buffer.from(e.isDir ? `${e.name}/` : e.name) }))
    .sort((a, b) => Buffer.compare(a.order, b.order));
  for (const item of items) {
    const key = dirKey === '' ? item.name : `${dirKey}/${item.name}`;
    if (item.isDir) {
      yield* walk(join(dir, item.name), key, '');
    } else if (isSafe(key)) {
      yield key;
    }
  }
}

/** Files dropped into the bucket by hand may have names no key can have; they are not objects. */
function isSafe(key: string): boolean {
  try {
    assertSafeKey(key);
    return true;
  } catch {
    return false;
  }
}
