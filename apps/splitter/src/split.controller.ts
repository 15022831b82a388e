import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { KafkaBatch } from '@logsplit/common';
import { SplitService } from './split.service';

/** Handler name of raw batches; main.ts routes the configured raw topic to it. */
export const RAW_BATCH = 'raw-batch';

@Controller()
export class SplitController {
  constructor(private readonly split: SplitService) {}

  @EventPattern(RAW_BATCH)
  handle(@Payload() batch: KafkaBatch): Promise<void> {
    return this.split.splitBatch(batch);
  }
}
