import { Chunk } from '@logsplit/common';
import { Gathering } from './gathering';
import { PartitionWork, TracedChunk } from './partition-work';

const OPTS = { blockBytes: 100, blockLingerMs: 1_000, bufferBytes: 150 };

function chunk(offset: number, bytes: number): TracedChunk {
  return { chunk: { payload: Buffer.alloc(bytes), records: 1 } as Chunk, offset };
}

/** Records which apps were started; their appends end when the test says so. */
function fakeRunner() {
  const started: string[] = [];
  const ends: (() => void)[] = [];
  const runner = {
    appendingBytes: 0,
    start(work: PartitionWork, app: string): Promise<void> {
      const out = work.takeOut(app)!;
      started.push(app);
      runner.appendingBytes += out.bytes;
      const done = new Promise<void>((resolve) =>
        ends.push(() => {
          runner.appendingBytes -= out.bytes;
          work.appending.delete(app);
          resolve();
        }),
      );
      work.appending.set(app, done);
      return done;
    },
  };
  return { runner, started, ends };
}

const batch = { topic: 't', partition: 0, messages: [{ offset: '0' }] };
const live = { isStale: () => false, heartbeat: async () => {} };

describe('Gathering', () => {
  it('keeps small young apps gathered and starts an app once its block is big enough', () => {
    const { runner, started } = fakeRunner();
    const g = new Gathering(OPTS, runner, { forget: () => {} });
    const work = g.partition(batch);
    g.gather(work, new Map([['a', [chunk(0, 60)]]]), 0);
    expect(started).toEqual([]);
    g.gather(work, new Map([['a', [chunk(1, 60)]]]), 10);
    expect(started).toEqual(['a']);
  });

  it('starts the linger-old apps, and every app once the partition went quiet', () => {
    const { runner, started } = fakeRunner();
    const g = new Gathering(OPTS, runner, { forget: () => {} });
    const work = g.partition(batch);
    g.gather(work, new Map([['a', [chunk(0, 1)]]]), 0);
    g.gather(work, new Map([['b', [chunk(1, 1)]]]), 500);
    g.startDue(work, 1_000);
    expect(started).toEqual(['a']);
    g.startDue(work, 1_001, true);
    expect(started).toEqual(['a', 'b']);
  });

  it('over the memory budget: starts the largest apps first and waits until under it', async () => {
    const { runner, started, ends } = fakeRunner();
    const g = new Gathering({ ...OPTS, blockBytes: 1_000 }, runner, { forget: () => {} });
    const work = g.partition(batch);
    g.gather(
      work,
      new Map([
        ['small', [chunk(0, 40)]],
        ['big', [chunk(1, 90)]],
        ['mid', [chunk(2, 60)]],
      ]),
      0,
    );
    let returned = false;
    const room = g.makeRoom(work, live).then(() => (returned = true));
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['big']); // 190 - 90 ≤ 150
    expect(returned).toBe(false);
    ends[0]();
    await room;
    expect(started).toEqual(['big']);
  });

  it('forgets a revoked partition and what it gathered', () => {
    const { runner } = fakeRunner();
    const forgotten: PartitionWork[] = [];
    const g = new Gathering(OPTS, runner, { forget: (w) => void forgotten.push(w) });
    const work = g.partition(batch);
    g.gather(work, new Map([['a', [chunk(0, 1)]]]), 0);
    g.reassigned({ t: [1] });
    expect(work.gone).toBe(true);
    expect(work.gathered.size).toBe(0);
    expect(forgotten).toEqual([work]);
    expect(g.partition(batch)).not.toBe(work);
  });
});
