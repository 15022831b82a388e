import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mayBeDue, probeOpenSlot } from './open-slot-probe';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'slot-probe-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const LIMITS = { maxAgeMs: 1000, maxBytes: 100 };

describe('probeOpenSlot', () => {
  it('reads createdAt from meta.json and the size of the data file it names', async () => {
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ createdAt: 42, extension: '.log.zst' }));
    writeFileSync(join(dir, 'data.log.zst'), 'x'.repeat(17));
    expect(await probeOpenSlot(dir)).toEqual({ createdAt: 42, dataBytes: 17 });
  });

  it('says so when there is no data file yet', async () => {
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ createdAt: 42, extension: '.log.gz' }));
    expect(await probeOpenSlot(dir)).toEqual({ createdAt: 42, dataBytes: undefined });
  });

  it("gives the directory's mtime when there is no meta.json, nothing when no directory", async () => {
    mkdirSync(join(dir, 'slot-0'));
    expect((await probeOpenSlot(join(dir, 'slot-0'))).dirMtimeMs).toEqual(expect.any(Number));
    expect(await probeOpenSlot(join(dir, 'gone'))).toEqual({ dirMtimeMs: undefined });
  });
});

describe('mayBeDue', () => {
  it('rules out only a slot that is young and small', () => {
    expect(mayBeDue({ createdAt: 500, dataBytes: 99 }, 1499, LIMITS)).toBe(false);
    expect(mayBeDue({ createdAt: 500, dataBytes: 99 }, 1500, LIMITS)).toBe(true); // old
    expect(mayBeDue({ createdAt: 500, dataBytes: 100 }, 600, LIMITS)).toBe(true); // big
    expect(mayBeDue({ createdAt: 500 }, 1500, LIMITS)).toBe(true); // old, never written
  });

  it('ages a slot without meta.json by its directory, and skips a vanished slot', () => {
    expect(mayBeDue({ dirMtimeMs: 500 }, 1500, LIMITS)).toBe(true);
    expect(mayBeDue({ dirMtimeMs: 500 }, 1000, LIMITS)).toBe(false);
    expect(mayBeDue({}, 1_000_000, LIMITS)).toBe(false);
  });
});
