import { encodeSegmentEvent, KafkaBatch, Metrics, StageEvents } from '@logsplit/common';
import { UploadOutcome } from './segment-upload';
import { SegmentsController } from './segments.controller';

const CONFIG = { uploader: { group: 'uploader', intervalMs: 1000, concurrency: 4 } };

function batch(...segments: [string, string][]): KafkaBatch {
  return {
    messages: segments.map(([app, segmentId]) => ({
      value: encodeSegmentEvent({
        type: 'segment-sealed',
        app,
        segmentId,
        bytes: 1,
        records: 1,
        sealedAt: 0,
      }),
    })),
    heartbeat: async () => undefined,
  } as unknown as KafkaBatch;
}

function controller(outcomes: Record<string, (UploadOutcome | Error)[]>) {
  const calls: string[] = [];
  const warnings: string[] = [];
  let snapshots = 0;
  const uploads = {
    commitSnapshot: () => {
      snapshots++;
      return async () => new Map<string, number>();
    },
    upload: async (_app: string, id: string) => {
      calls.push(id);
      const outcome = outcomes[id].shift()!;
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
  const log = { log: () => {}, warn: (m: string) => void warnings.push(m), error: () => {} };
  const events = new StageEvents(new Metrics('uploader', 0), log);
  const c = new SegmentsController(uploads, CONFIG, events);
  return { c, calls, warnings, snapshots: () => snapshots };
}

describe('SegmentsController', () => {
  it('uploads announced segments with one look-up, and looks once more at those still held', async () => {
    const { c, calls, snapshots } = controller({
      s1: ['uploaded'],
      s2: ['uncommitted', 'uploaded'],
    });
    await c.handle(batch(['a', 's1'], ['a', 's2']));
    expect(calls).toEqual(['s1', 's2', 's2']);
    expect(snapshots()).toBe(2);
  });

  it('leaves a segment still held after the second look to the scheduled pass', async () => {
    const { c, calls } = controller({ s1: ['uncommitted', 'uncommitted', 'uploaded'] });
    await c.handle(batch(['a', 's1'], ['a', 's1'])); // duplicates of one segment count once
    expect(calls).toEqual(['s1', 's1']);
  });

  it('leaves a failed upload to the pass without stopping the others', async () => {
    const { c, calls, warnings } = controller({ s1: [new Error('store down')], s2: ['uploaded'] });
    await c.handle(batch(['a', 's1'], ['a', 's2']));
    expect(calls).toEqual(['s1', 's2']);
    expect(warnings).toEqual(['upload of a/s1 deferred to the next pass: Error: store down']);
  });
});
