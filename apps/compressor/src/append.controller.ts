import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { KafkaBatch } from '@logsplit/common';
import { AppendService } from './append.service';

/** Handler name of chunk batches; main.ts routes the configured by-app topic to it. */
export const CHUNK_BATCH = 'chunk-batch';

@Controller()
export class AppendController {
  constructor(private readonly append: AppendService) {}

  @EventPattern(CHUNK_BATCH)
  handle(@Payload() batch: KafkaBatch): Promise<void> {
    return this.append.appendBatch(batch);
  }
}
