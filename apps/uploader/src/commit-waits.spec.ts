import { Metrics, StageEvents } from '@logsplit/common';
import { CommitWaits } from './commit-waits';

const block = { topic: 'by-app', partition: 1, offset: 7, committed: 3 };

describe('CommitWaits', () => {
  let now: number;
  let metrics: Metrics;
  let warnings: string[];
  let waits: CommitWaits;
  const gauges = async () => {
    const text = await metrics.text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    return [
      value('logsplit_uploads_awaiting_commit'),
      value('logsplit_upload_commit_wait_seconds'),
    ];
  };

  beforeEach(() => {
    now = 1_000_000;
    metrics = new Metrics('uploader', 0);
    warnings = [];
    const log = { log: () => {}, warn: (m: string) => void warnings.push(m), error: () => {} };
    waits = new CommitWaits(new StageEvents(metrics, log), 'compressors', 60_000, () => now);
  });
  afterEach(() => jest.restoreAllMocks());

  it('shows how many segments wait and for how long the oldest has', async () => {
    waits.waiting('a', 's1', block);
    now += 30_000;
    waits.waiting('b', 's2', block);
    waits.waiting('a', 's1', block);
    expect(await gauges()).toEqual([2, 30]);
    waits.done('a', 's1');
    expect(await gauges()).toEqual([1, 0]);
    waits.keepOnly(new Set());
    expect(await gauges()).toEqual([0, 0]);
  });

  it('warns once per segment that waits past the limit, naming what it waits for', () => {
    waits.waiting('a', 's1', block);
    now += 59_999;
    waits.waiting('a', 's1', block);
    expect(warnings).toEqual([]);
    now += 1;
    waits.waiting('a', 's1', block);
    now += 60_000;
    waits.waiting('a', 's1', block);
    expect(warnings).toEqual([
      'segment a/s1 has waited 60 s for the compressor: it holds by-app[1] offset 7, not yet committed by compressors (committed: 3); is the compressor stuck?',
    ]);
  });
});
