import { mapLimit } from '@logsplit/common';

export interface SegmentRef {
  app: string;
  segmentId: string;
}

/**
 * Runs `upload` over segments, `concurrency` at a time: each upload mostly waits (fsync, the
 * store, Redis), so lanes overlap those waits. A failure reaches `done` as an Error, so one bad
 * segment never holds up the others.
 */
export async function uploadEach<T>(
  segments: readonly SegmentRef[],
  concurrency: number,
  upload: (segment: SegmentRef) => Promise<T>,
  done: (segment: SegmentRef, outcome: T | Error) => void,
): Promise<void> {
  await mapLimit([...segments], Math.max(1, concurrency), async (segment) => {
    let outcome: T | Error;
    try {
      outcome = await upload(segment);
    } catch (err) {
      outcome = err instanceof Error ? err : new Error(String(err));
    }
    done(segment, outcome);
  });
}
