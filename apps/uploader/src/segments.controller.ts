import { Controller, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { decodeSegmentEvent, KafkaBatch } from '@logsplit/common';
import { UploadService } from './upload.service';

/** Handler name of segment events; main.ts routes the configured segments topic to it. */
export const SEGMENT_EVENTS = 'segment-events';

/**
 * Uploads a segment as soon as the compressor seals it, instead of waiting for the next
 * scheduled pass. Failures are left to that pass, so the events topic never stalls.
 */
@Controller()
export class SegmentsController {
  private readonly log = new Logger(SegmentsController.name);

  constructor(private readonly uploads: UploadService) {}

  @EventPattern(SEGMENT_EVENTS)
  async handle(@Payload() batch: KafkaBatch): Promise<void> {
    for (const m of batch.messages) {
      const event = decodeSegmentEvent(m.value);
      if (!event) continue;
      try {
        await this.uploads.upload(event.app, event.segmentId);
      } catch (err) {
        this.log.warn(
          `upload of ${event.app}/${event.segmentId} deferred to the next pass: ${String(err)}`,
        );
      }
      await batch.heartbeat();
    }
  }
}
