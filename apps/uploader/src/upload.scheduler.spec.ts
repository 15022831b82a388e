import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { LogsplitConfig, Metrics, StageEvents } from '@logsplit/common';
import { UploadScheduler } from './upload.scheduler';
import { PassTotals } from './upload-pass';

/** Passes that end when the test says so. */
function fakeUploads() {
  const ends: (() => void)[] = [];
  const uploads = {
    pass: () =>
      new Promise<PassTotals>((resolve) =>
        ends.push(() => resolve({ sealed: 0, uploaded: 0, waiting: 0, failed: 0 })),
      ),
  };
  return { uploads, ends };
}

const config = { uploader: { intervalMs: 60_000 } } as LogsplitConfig;
const quiet = { log: () => {}, warn: () => {}, error: () => {} };
const events = new StageEvents(new Metrics('uploader', 0), quiet);
const flush = () => new Promise<void>((r) => setImmediate(() => r()));

describe('UploadScheduler', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('runs one more pass right after a pass during which ticks came, never two at once', async () => {
    const { uploads, ends } = fakeUploads();
    const s = new UploadScheduler(config, uploads, events, new SchedulerRegistry());
    const first = s.tick();
    void s.tick();
    void s.tick();
    expect(ends).toHaveLength(1);
    ends[0]();
    await first;
    await flush();
    expect(ends).toHaveLength(2); // the ticks that came during the pass: one pass more
    ends[1]();
    await flush();
    expect(ends).toHaveLength(2);
  });

  it('starts no pass after shutdown', async () => {
    const { uploads, ends } = fakeUploads();
    const registry = new SchedulerRegistry();
    const s = new UploadScheduler(config, uploads, events, registry);
    s.onApplicationBootstrap();
    void s.tick();
    const stopped = s.onApplicationShutdown();
    ends[0]();
    await stopped;
    await flush();
    expect(ends).toHaveLength(1);
  });
});
