import {
  mkdtempSync,
  promises as fsp,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStorageDriver } from './fs-storage.driver';
import { md5Hex } from './md5';
import { collect, describeStorageContract } from '@logsplit/testing';
import { ChecksumMismatchError, ObjectExistsError } from './storage-driver';

const roots: string[] = [];
function freshRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'fs-store-'));
  roots.push(root);
  return root;
}
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

describeStorageContract('FsStorageDriver', () => new FsStorageDriver(join(freshRoot(), 'bucket')));

describe('FsStorageDriver', () => {
  let root: string;
  let store: FsStorageDriver;
  beforeEach(() => {
    root = freshRoot();
    store = new FsStorageDriver(root);
  });

  it('lays keys out as paths under the root', async () => {
    await store.putBuffer('logs/app1/dt=2024-01-02/hh=03/s.log.gz', Buffer.from('x'));
    expect(readdirSync(join(root, 'logs/app1/dt=2024-01-02/hh=03'))).toEqual(['s.log.gz']);
  });

  it('leaves no temp file behind, after success or after an md5 mismatch', async () => {
    await store.putBuffer('d/ok', Buffer.from('x'));
    await expect(
      store.putBuffer('d/bad', Buffer.from('x'), { md5: md5Hex(Buffer.from('y')) }),
    ).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(readdirSync(join(root, 'd'))).toEqual(['ok']);
  });

  it('does not list the temp file of a put that crashed, nor odd files dropped in by hand', async () => {
    await store.putBuffer('d/real', Buffer.from('x'));
    writeFileSync(join(root, 'd', '.real.logsplit-tmp-0123456789abcdef'), 'torn');
    writeFileSync(join(root, 'd', 'back\\slash'), 'odd');
    expect(await collect(store.list(''))).toEqual(['d/real']);
  });

  it('refuses keys that would alias a temp file', async () => {
    await expect(
      store.putBuffer('d/x.logsplit-tmp-0123456789abcdef', Buffer.from('x')),
    ).rejects.toThrow(/unsafe/);
  });

  it('recomputes md5 after a restart and notices files changed behind its back', async () => {
    await store.putBuffer('k', Buffer.from('one'));
    const restarted = new FsStorageDriver(root);
    expect((await restarted.head('k'))?.md5).toBe(md5Hex(Buffer.from('one')));
    writeFileSync(join(root, 'k'), 'two!');
    expect(await restarted.head('k')).toEqual({
      key: 'k',
      size: 4,
      md5: md5Hex(Buffer.from('two!')),
    });
    expect((await store.head('k'))?.md5).toBe(md5Hex(Buffer.from('two!')));
  });

  it('treats a directory as no object', async () => {
    await store.putBuffer('dir/inner', Buffer.from('x'));
    expect(await store.head('dir')).toBeUndefined();
    await expect(store.getBuffer('dir')).rejects.toThrow('object not found: dir');
  });

  it('reads through a symlinked root', async () => {
    const link = join(freshRoot(), 'link');
    symlinkSync(root, link);
    const viaLink = new FsStorageDriver(link);
    await viaLink.putBuffer('s/1', Buffer.from('x'));
    expect(await collect(store.list('s/'))).toEqual(['s/1']);
  });

  it('creates if absent on a filesystem without hard links, leaving no temp file', async () => {
    const noLinks = jest
      .spyOn(fsp, 'link')
      .mockRejectedValue(
        Object.assign(new Error('EPERM: operation not permitted'), { code: 'EPERM' }),
      );
    try {
      await store.putBuffer('n/1', Buffer.from('first'), { ifAbsent: true });
      await expect(
        store.putBuffer('n/1', Buffer.from('second'), { ifAbsent: true }),
      ).rejects.toBeInstanceOf(ObjectExistsError);
      expect(noLinks).toHaveBeenCalledTimes(2);
    } finally {
      noLinks.mockRestore();
    }
    expect((await store.getBuffer('n/1')).toString()).toBe('first');
    expect(readdirSync(join(root, 'n'))).toEqual(['1']);
  });

  it('leaves no temp file behind a create-if-absent put that found the key taken', async () => {
    await store.putBuffer('t/1', Buffer.from('x'));
    await expect(
      store.putBuffer('t/1', Buffer.from('y'), { ifAbsent: true }),
    ).rejects.toBeInstanceOf(ObjectExistsError);
    expect(readdirSync(join(root, 't'))).toEqual(['1']);
  });
});
