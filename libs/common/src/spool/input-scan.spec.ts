import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findHeldInputs } from './input-scan';
import { BlockInput, ManifestEntry } from './segment-meta';
import { SpoolLayout } from './spool-layout';

let root: string;
let layout: SpoolLayout;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'input-scan-'));
  layout = new SpoolLayout(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const TOPIC = 'logs.by-app';

function line(input?: BlockInput): string {
  const entry: ManifestEntry = {
    offset: 0,
    length: 1,
    records: 1,
    rawBytes: 1,
    minTime: 0,
    maxTime: 0,
    appendedAt: 0,
    sources: [],
    ...(input && { input }),
  };
  return JSON.stringify(entry) + '\n';
}

const input = (partition: number, ...offsets: number[]): BlockInput => ({
  topic: TOPIC,
  partition,
  offsets,
});

function manifest(dir: string, text: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'manifest.jsonl'), text);
}

const sorted = (s: Set<number> | undefined) => [...(s ?? [])].sort((a, b) => a - b);

describe('findHeldInputs', () => {
  it('finds the offsets of the asked partitions in open and sealed segments of every app', async () => {
    manifest(layout.openDir('a', 0), line(input(1, 10, 11)) + line(input(2, 5)));
    manifest(layout.openDir('a', 3), line(input(1, 14)));
    manifest(layout.sealedDir('a', 'seg-1'), line(input(1, 7, 8, 9)));
    manifest(layout.sealedDir('b', 'seg-2'), line(input(1, 12)) + line(input(3, 12)));
    const held = await findHeldInputs(layout, {
      topic: TOPIC,
      from: new Map([
        [1, 9],
        [3, 0],
      ]),
    });
    expect([...held.keys()].sort()).toEqual([1, 3]);
    // Offsets below `from` are committed and not reported.
    expect(sorted(held.get(1))).toEqual([9, 10, 11, 12, 14]);
    expect(sorted(held.get(3))).toEqual([12]);
  });

  it('ignores other topics, lines without input, and a torn last line', async () => {
    const torn = line(input(0, 99)).slice(0, -5);
    manifest(
      layout.openDir('a', 0),
      line() + line({ ...input(0, 1), topic: 'other' }) + line(input(0, 2)) + torn,
    );
    const held = await findHeldInputs(layout, { topic: TOPIC, from: new Map([[0, 0]]) });
    expect(sorted(held.get(0))).toEqual([2]);
  });

  it('reads only the given apps when told', async () => {
    manifest(layout.openDir('a', 0), line(input(0, 1)));
    manifest(layout.openDir('b', 0), line(input(0, 2)));
    const held = await findHeldInputs(layout, {
      topic: TOPIC,
      from: new Map([[0, 0]]),
      apps: ['b', 'missing'],
    });
    expect(sorted(held.get(0))).toEqual([2]);
  });

  it('returns empty sets for an empty or missing spool and for segments not begun', async () => {
    expect(
      sorted((await findHeldInputs(layout, { topic: TOPIC, from: new Map([[0, 0]]) })).get(0)),
    ).toEqual([]);
    mkdirSync(layout.openDir('a', 0), { recursive: true }); // no manifest yet
    const held = await findHeldInputs(new SpoolLayout(join(root, 'nope')), {
      topic: TOPIC,
      from: new Map([[0, 0]]),
    });
    expect(sorted(held.get(0))).toEqual([]);
  });

  it('refuses a damaged complete line rather than guess', async () => {
    manifest(layout.openDir('a', 0), line(input(0, 1)) + '{"input": garbage}\n');
    await expect(findHeldInputs(layout, { topic: TOPIC, from: new Map([[0, 0]]) })).rejects.toThrow(
      /manifest .*slot-0.*damaged input/,
    );
  });
});
