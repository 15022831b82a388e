import { Controller, Inject, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  decodeSegmentEvent,
  KafkaBatch,
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  sleep,
} from '@logsplit/common';
import { uploadEach } from './upload-each';
import { UploadService } from './upload.service';

/** Handler name of segment events; main.ts routes the configured segments topic to it. */
export const SEGMENT_EVENTS = 'segment-events';

/**
 * How long a batch of events waits for the compressor to commit what its segments hold, and
 * between looks. The compressor sends the event before it commits its offsets, so the commit
 * usually follows within moments; a segment still held after this is left to the scheduled pass.
 */
export const COMMIT_WAIT_DELAYS_MS = [200, 400, 800, 1600, 2000];

/**
 * Uploads a segment as soon as the compressor seals it, instead of waiting for the next
 * scheduled pass. Failures are left to that pass, so the events topic never stalls.
 */
@Controller()
export class SegmentsController {
  private readonly log = new Logger(SegmentsController.name);

  constructor(
    private readonly uploads: UploadService,
    @Inject(LOGSPLIT_CONFIG) private readonly config: Pick<LogsplitConfig, 'uploader'>,
  ) {}

  @EventPattern(SEGMENT_EVENTS)
  async handle(@Payload() batch: KafkaBatch): Promise<void> {
    let pending = new Map<string, { app: string; segmentId: string }>();
    for (const m of batch.messages) {
      const event = decodeSegmentEvent(m.value);
      if (event) pending.set(`${event.app}/${event.segmentId}`, event);
    }
    for (const delayMs of [0, ...COMMIT_WAIT_DELAYS_MS]) {
      if (pending.size === 0) return;
      if (delayMs > 0) await sleep(delayMs);
      pending = await this.uploadRound(pending);
      await batch.heartbeat();
    }
  }

  /** One look at the committed offsets for the whole round; returns the segments still held. */
  private async uploadRound(
    pending: Map<string, { app: string; segmentId: string }>,
  ): Promise<Map<string, { app: string; segmentId: string }>> {
    const held = new Map<string, { app: string; segmentId: string }>();
    const commits = this.uploads.commitSnapshot();
    const upload = ({ app, segmentId }: { app: string; segmentId: string }) =>
      this.uploads.upload(app, segmentId, commits);
    await uploadEach(
      [...pending.values()],
      this.config.uploader.concurrency,
      upload,
      (s, outcome) => {
        const id = `${s.app}/${s.segmentId}`;
        if (outcome === 'uncommitted') held.set(id, s);
        if (outcome instanceof Error) {
          this.log.warn(`upload of ${id} deferred to the next pass: ${String(outcome)}`);
        }
      },
    );
    return held;
  }
}
