/// <reference types="jest" />
// The contract suite runs under jest; this reference lets harnesses built with types: ["node"]
// (test/chaos, bench) compile the @logsplit/testing barrel too.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChecksumMismatchError,
  InvalidRangeError,
  md5Hex,
  NotFoundError,
  ObjectExistsError,
  readAll,
  StorageDriver,
} from '@logsplit/common/storage';

export interface ContractOptions {
  /** Keys per list page, where the driver pages (small values exercise continuation). */
  listPageSize?: number;
}

/** Builds a driver over an empty store; called before each test. */
export type DriverFactory = (opts: ContractOptions) => StorageDriver | Promise<StorageDriver>;

export async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}

/** What every StorageDriver must do, whatever it stores into. One suite, run against each driver. */
export function describeStorageContract(name: string, makeDriver: DriverFactory): void {
  describe(`${name}: StorageDriver contract`, () => {
    let store: StorageDriver;
    let scratch: string;

    beforeEach(async () => {
      store = await makeDriver({});
      scratch = mkdtempSync(join(tmpdir(), 'storage-contract-'));
    });
    afterEach(() => rmSync(scratch, { recursive: true, force: true }));

    function localFile(body: Buffer): string {
      const path = join(scratch, `f-${randomBytes(4).toString('hex')}.log.gz`);
      writeFileSync(path, body);
      return path;
    }

    it('stores a buffer and reports its size and md5', async () => {
      const body = Buffer.from('{"records":3}');
      const info = await store.putBuffer('logs/_index/app1/seg.json', body, {
        contentType: 'application/json',
      });
      expect(info).toEqual({
        key: 'logs/_index/app1/seg.json',
        size: body.length,
        md5: md5Hex(body),
      });
      expect(await store.head('logs/_index/app1/seg.json')).toEqual(info);
      expect(await store.getBuffer('logs/_index/app1/seg.json')).toEqual(body);
    });

    it('streams a file up and reads it back whole', async () => {
      const body = randomBytes(3 * 1024 * 1024 + 17);
      const info = await store.putFile('logs/app1/seg.log.gz', localFile(body));
      expect(info).toEqual({ key: 'logs/app1/seg.log.gz', size: body.length, md5: md5Hex(body) });
      expect(await store.head('logs/app1/seg.log.gz')).toEqual(info);
      expect((await store.getBuffer('logs/app1/seg.log.gz')).equals(body)).toBe(true);
      expect((await readAll(await store.getStream('logs/app1/seg.log.gz'))).equals(body)).toBe(
        true,
      );
    });

    it('replaces an existing object', async () => {
      await store.putBuffer('a/b', Buffer.from('first version, longer'));
      await store.putFile('a/b', localFile(Buffer.from('second')));
      expect((await store.getBuffer('a/b')).toString()).toBe('second');
      expect(await store.head('a/b')).toEqual({
        key: 'a/b',
        size: 6,
        md5: md5Hex(Buffer.from('second')),
      });
    });

    it('stores an empty object', async () => {
      expect(await store.putBuffer('empty', Buffer.alloc(0))).toEqual({
        key: 'empty',
        size: 0,
        md5: md5Hex(Buffer.alloc(0)),
      });
      expect((await store.getBuffer('empty')).length).toBe(0);
    });

    it('reads inclusive byte ranges, clamping the end to the last byte', async () => {
      const body = Buffer.from('0123456789abcdef');
      await store.putBuffer('r', body);
      expect((await store.getBuffer('r', { start: 0, end: 0 })).toString()).toBe('0');
      expect((await store.getBuffer('r', { start: 10, end: 12 })).toString()).toBe('abc');
      expect((await store.getBuffer('r', { start: 15, end: 15 })).toString()).toBe('f');
      expect((await store.getBuffer('r', { start: 12, end: 1000 })).toString()).toBe('cdef');
      expect((await readAll(await store.getStream('r', { start: 4, end: 7 }))).toString()).toBe(
        '4567',
      );
    });

    it('refuses a range that starts past the end, or is malformed', async () => {
      await store.putBuffer('r', Buffer.from('0123'));
      await expect(store.getBuffer('r', { start: 4, end: 9 })).rejects.toBeInstanceOf(
        InvalidRangeError,
      );
      await expect(store.getBuffer('r', { start: 3, end: 2 })).rejects.toBeInstanceOf(
        InvalidRangeError,
      );
      await expect(store.getBuffer('r', { start: -1, end: 2 })).rejects.toBeInstanceOf(
        InvalidRangeError,
      );
      await expect(store.getBuffer('r', { start: 0.5, end: 2 })).rejects.toBeInstanceOf(
        InvalidRangeError,
      );
    });

    it('reports a missing object as undefined from head and NotFoundError from get', async () => {
      expect(await store.head('no/such/key')).toBeUndefined();
      await expect(store.getBuffer('no/such/key')).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.getStream('no/such/key')).rejects.toThrow('object not found: no/such/key');
      await expect(store.getBuffer('no/such/key', { start: 0, end: 1 })).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it('lists every key that starts with a prefix, in byte order', async () => {
      const keys = [
        'logs/a/x',
        'logs/a-b/y',
        'logs/a/y/z',
        'logs/ab',
        'logs/a.b',
        'logs/b/1',
        'logs/Z',
        'logs/ü/1',
        'other/1',
      ];
      for (const key of keys) await store.putBuffer(key, Buffer.from(key));
      const byteOrder = (ks: string[]) =>
        [...ks].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

      expect(await collect(store.list(''))).toEqual(byteOrder(keys));
      expect(await collect(store.list('logs/a'))).toEqual([
        'logs/a-b/y',
        'logs/a.b',
        'logs/a/x',
        'logs/a/y/z',
        'logs/ab',
      ]);
      expect(await collect(store.list('logs/a/'))).toEqual(['logs/a/x', 'logs/a/y/z']);
      expect(await collect(store.list('logs/a/x'))).toEqual(['logs/a/x']);
      expect(await collect(store.list('logs/ü'))).toEqual(['logs/ü/1']);
      expect(await collect(store.list('nothing/'))).toEqual([]);
      expect(await collect(store.list('logs/a/x/deeper'))).toEqual([]);
    });

    it('pages through listings longer than one page', async () => {
      const paged = await makeDriver({ listPageSize: 7 });
      const keys = Array.from({ length: 53 }, (_, i) => `p/${String(i).padStart(3, '0')}`);
      await Promise.all(keys.map((k) => paged.putBuffer(k, Buffer.from(k))));
      await paged.putBuffer('q/outside', Buffer.from('x'));
      expect(await collect(paged.list('p/'))).toEqual(keys);
    });

    it('deletes idempotently', async () => {
      await store.putBuffer('d/1', Buffer.from('x'));
      await store.delete('d/1');
      await store.delete('d/1');
      await store.delete('never/existed');
      expect(await store.head('d/1')).toBeUndefined();
      expect(await collect(store.list('d/'))).toEqual([]);
    });

    it('stores an upload whose md5 matches the one given', async () => {
      const body = Buffer.from('checked');
      expect((await store.putBuffer('m/ok', body, { md5: md5Hex(body) })).md5).toBe(md5Hex(body));
      expect((await store.putFile('m/ok2', localFile(body), { md5: md5Hex(body) })).size).toBe(
        body.length,
      );
    });

    it('rejects an upload whose md5 differs, storing nothing and keeping the old object', async () => {
      await store.putBuffer('m/key', Buffer.from('old'));
      const wrong = md5Hex(Buffer.from('something else'));
      await expect(
        store.putBuffer('m/key', Buffer.from('new'), { md5: wrong }),
      ).rejects.toBeInstanceOf(ChecksumMismatchError);
      await expect(
        store.putFile('m/key', localFile(Buffer.from('new')), { md5: wrong }),
      ).rejects.toThrow(/md5 mismatch storing m\/key/);
      await expect(
        store.putBuffer('m/fresh', Buffer.from('new'), { md5: wrong }),
      ).rejects.toBeInstanceOf(ChecksumMismatchError);
      expect((await store.getBuffer('m/key')).toString()).toBe('old');
      expect(await store.head('m/fresh')).toBeUndefined();
      expect(await collect(store.list('m/'))).toEqual(['m/key']);
    });

    it.each(
      [
        '../x',
        'a/../../x',
        '/abs',
        'a//b',
        'a/./b',
        'dir/',
        '',
        'ctl\u0001char',
        'nl\nkey',
        'back\\slash',
        'ü'.repeat(512), // 1024 bytes of UTF-8 in 512 characters
      ].map((k) => [JSON.stringify(k).slice(0, 24), k]),
    )('refuses the unsafe key %s in every operation', async (_label, key) => {
      const file = localFile(Buffer.from('x'));
      await expect(store.putBuffer(key, Buffer.from('x'))).rejects.toThrow(/unsafe/);
      await expect(store.putFile(key, file)).rejects.toThrow(/unsafe/);
      await expect(store.head(key)).rejects.toThrow(/unsafe/);
      await expect(store.getBuffer(key)).rejects.toThrow(/unsafe/);
      await expect(store.getStream(key)).rejects.toThrow(/unsafe/);
      await expect(store.delete(key)).rejects.toThrow(/unsafe/);
    });

    it('refuses unsafe list prefixes', async () => {
      await expect(collect(store.list('../'))).rejects.toThrow(/unsafe/);
      await expect(collect(store.list('/abs'))).rejects.toThrow(/unsafe/);
      await expect(collect(store.list('a//'))).rejects.toThrow(/unsafe/);
    });

    it('keeps keys with spaces, plus signs, equals signs and non-ASCII intact', async () => {
      const keys = [
        'logs/app 1/dt=2024-01-02/hh=03/a+b.log.gz',
        'logs/日志/ü%20x.json',
        "logs/q/it's(1)*!.txt",
      ];
      for (const key of keys) await store.putBuffer(key, Buffer.from(key));
      for (const key of keys) expect((await store.getBuffer(key)).toString()).toBe(key);
      expect(await collect(store.list('logs/'))).toEqual(
        [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
    });

    it('creates an object if absent, and otherwise leaves the one there alone', async () => {
      const first = Buffer.from('first');
      expect(await store.putBuffer('c/seg', first, { ifAbsent: true })).toEqual({
        key: 'c/seg',
        size: first.length,
        md5: md5Hex(first),
      });
      await expect(
        store.putBuffer('c/seg', Buffer.from('second'), { ifAbsent: true }),
      ).rejects.toBeInstanceOf(ObjectExistsError);
      await expect(
        store.putFile('c/seg', localFile(Buffer.from('third')), { ifAbsent: true }),
      ).rejects.toThrow('object already exists, not overwritten: c/seg');
      // The same bytes again are refused too: telling them apart is the caller's job (head).
      await expect(store.putBuffer('c/seg', first, { ifAbsent: true })).rejects.toBeInstanceOf(
        ObjectExistsError,
      );
      expect((await store.getBuffer('c/seg')).toString()).toBe('first');
      expect(await store.head('c/seg')).toEqual({ key: 'c/seg', size: 5, md5: md5Hex(first) });
      expect(await collect(store.list('c/'))).toEqual(['c/seg']);

      const file = Buffer.from('from a file');
      await store.putFile('c/file', localFile(file), { ifAbsent: true, md5: md5Hex(file) });
      expect((await store.getBuffer('c/file')).equals(file)).toBe(true);
    });

    it('lets exactly one of racing create-if-absent puts win, whole', async () => {
      const versions = Array.from({ length: 6 }, (_, i) => Buffer.alloc(128 * 1024 + i, 97 + i));
      const results = await Promise.allSettled(
        versions.map((v, i) =>
          i % 2
            ? store.putBuffer('once', v, { ifAbsent: true })
            : store.putFile('once', localFile(v), { ifAbsent: true }),
        ),
      );
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ObjectExistsError);
      }
      expect((await store.getBuffer('once')).equals(versions[won[0]])).toBe(true);
      expect(await collect(store.list('once'))).toEqual(['once']);
    });

    it('leaves one whole version when puts of one key race', async () => {
      const versions = Array.from({ length: 6 }, (_, i) => Buffer.alloc(256 * 1024 + i, 97 + i));
      await Promise.all(
        versions.map((v, i) =>
          i % 2 ? store.putBuffer('race', v) : store.putFile('race', localFile(v)),
        ),
      );
      const stored = await store.getBuffer('race');
      expect(versions.some((v) => v.equals(stored))).toBe(true);
      expect(await store.head('race')).toEqual({
        key: 'race',
        size: stored.length,
        md5: md5Hex(stored),
      });
      expect(await collect(store.list('race'))).toEqual(['race']);
    });
  });
}
