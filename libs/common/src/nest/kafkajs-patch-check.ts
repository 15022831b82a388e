import type { Logger } from '@nestjs/common';
import { isPatchLive, KAFKAJS_PATCHES, KafkajsPatchError } from '@logsplit/kafkajs-patches';
import { Gauge } from 'prom-client';
import type { Metrics } from '../telemetry';

/**
 * A service runs only with every kafkajs patch live (a main.ts without the install import would
 * read aborted transactions): logs them, shows them as `logsplit_kafkajs_patch{patch} 1`, and
 * throws naming the missing ones.
 */
export function requireKafkajsPatches(metrics: Metrics, log: Logger): void {
  const missing = KAFKAJS_PATCHES.filter((p) => !isPatchLive(p.name)).map((p) => p.name);
  if (missing.length > 0) {
    throw new KafkajsPatchError(
      `kafkajs patches not installed (${missing.join(', ')}): the service's main.ts must ` +
        'import @logsplit/kafkajs-patches/install first',
    );
  }
  const gauge = new Gauge({
    name: 'logsplit_kafkajs_patch',
    help: 'kafkajs patches live in this process (libs/kafkajs-patches), 1 each',
    labelNames: ['patch'],
    registers: [metrics.registry],
  });
  for (const p of KAFKAJS_PATCHES) gauge.set({ patch: p.name }, 1);
  log.log(`kafkajs ${KAFKAJS_PATCHES.map((p) => p.name).join(', ')} patches live`);
}
