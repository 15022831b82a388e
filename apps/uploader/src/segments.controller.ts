import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  decodeSegmentEvent,
  KafkaBatch,
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  sleep,
  StageEvents,
  UploadLeftToPass,
} from '@logsplit/common';
import { SegmentUpload } from './segment-upload';
import { SegmentRef, uploadEach } from './upload-each';

/** Handler name of segment events; main.ts routes the configured segments topic to it. */
export const SEGMENT_EVENTS = 'segment-events';

/**
 * The compressor announces a segment once it has committed the offsets of the partition whose
 * append sealed it; blocks of other partitions in the segment were appended earlier and their
 * commits have usually followed too. So one look after a short wait is all that is left to
 * catch; a segment still held then is left to the scheduled pass (the commit gate itself is
 * checked on every attempt: a segment never leaves the spool while its inputs can be replayed).
 */
export const COMMIT_RECHECK_MS = 1_000;

/**
 * Uploads a segment as soon as the compressor announces it, instead of waiting for the next
 * scheduled pass. Failures are left to that pass, so the events topic never stalls.
 */
@Controller()
export class SegmentsController {
  constructor(
    @Inject(SegmentUpload)
    private readonly uploads: Pick<SegmentUpload, 'upload' | 'commitSnapshot'>,
    @Inject(LOGSPLIT_CONFIG) private readonly config: Pick<LogsplitConfig, 'uploader'>,
    private readonly events: StageEvents,
  ) {}

  @EventPattern(SEGMENT_EVENTS)
  async handle(@Payload() batch: KafkaBatch): Promise<void> {
    const announced = new Map<string, SegmentRef>();
    for (const m of batch.messages) {
      const event = decodeSegmentEvent(m.value);
      if (event) announced.set(`${event.app}/${event.segmentId}`, event);
    }
    if (announced.size === 0) return;
    const held = await this.uploadRound([...announced.values()]);
    if (held.length === 0) return;
    await sleep(COMMIT_RECHECK_MS);
    await batch.heartbeat();
    await this.uploadRound(held);
  }

  /** One look at the committed offsets for the whole round; returns the segments still held. */
  private async uploadRound(segments: SegmentRef[]): Promise<SegmentRef[]> {
    const held: SegmentRef[] = [];
    const commits = this.uploads.commitSnapshot();
    const upload = ({ app, segmentId }: SegmentRef) => this.uploads.upload(app, segmentId, commits);
    await uploadEach(segments, this.config.uploader.concurrency, upload, (s, outcome) => {
      if (outcome === 'uncommitted') held.push(s);
      if (outcome instanceof Error) {
        this.events.emit(new UploadLeftToPass({ ...s, error: outcome }));
      }
    });
    return held;
  }
}
