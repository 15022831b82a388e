import { Logger } from '@nestjs/common';
import { encodeSegmentEvent, KafkaBatch } from '@logsplit/common';
import { SegmentsController } from './segments.controller';
import { UploadOutcome, UploadService } from './upload.service';

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

describe('SegmentsController', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('retries segments the compressor has not committed yet, with one look-up per round', async () => {
    const outcomes: Record<string, UploadOutcome[]> = {
      s1: ['uploaded'],
      s2: ['uncommitted', 'uncommitted', 'uploaded'],
    };
    const calls: string[] = [];
    let snapshots = 0;
    const uploads = {
      commitSnapshot: () => {
        snapshots++;
        return async () => new Map();
      },
      upload: async (_app: string, id: string) => {
        calls.push(id);
        return outcomes[id].shift()!;
      },
    } as unknown as UploadService;
    await new SegmentsController(uploads, CONFIG).handle(batch(['a', 's1'], ['a', 's2']));
    expect(calls).toEqual(['s1', 's2', 's2', 's2']);
    expect(snapshots).toBe(3);
  });

  it('leaves a segment still held after the last round to the scheduled pass', async () => {
    let calls = 0;
    const uploads = {
      commitSnapshot: () => async () => new Map(),
      upload: async () => {
        calls++;
        return 'uncommitted' as const;
      },
    } as unknown as UploadService;
    await new SegmentsController(uploads, CONFIG).handle(batch(['a', 's1'], ['a', 's1']));
    expect(calls).toBe(6); // the first try and five more: duplicates of one segment count once
  }, 15_000);
});
