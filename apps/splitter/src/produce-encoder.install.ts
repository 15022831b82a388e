/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs internals, loaded to be replaced */
import { swapKafkajsModules } from '@logsplit/common/kafka/kafkajs-module-swap';
import { crc32c } from './crc32c';
import {
  frameRequest,
  groupMessagesPerPartition,
  produceRequestV3,
  type KafkajsInternals,
} from './produce-encoder';

let installed = false;

/**
 * Puts the one-pass produce encoder (produce-encoder.ts) in place of kafkajs' v3 produce request
 * and request framing, and the linear grouping of a send's messages in place of kafkajs' own.
 * Must run before kafkajs loads its connection module (main.ts imports this first); idempotent.
 */
export function installProduceEncoder(): void {
  if (installed) return;
  installed = true;
  const load = (id: string) => require(id) as unknown;
  const internals = (produceV3: unknown) =>
    ({
      Encoder: load('kafkajs/src/protocol/encoder'),
      Long: load('kafkajs/src/utils/long'),
      crc32C: crc32c,
      produceApiKey: (load('kafkajs/src/protocol/requests/apiKeys') as { Produce: number }).Produce,
      produceV3,
    }) as KafkajsInternals;
  const produce = 'kafkajs/src/protocol/requests/produce/v3/request';
  const I = internals(load(produce));
  swapKafkajsModules({
    what: 'produce encoder',
    consequence: 'it keeps its own (slower) encoder.',
    users: ['kafkajs/src/network/connection', 'kafkajs/src/producer/sendMessages'],
    replacements: {
      [produce]: () => produceRequestV3(I),
      'kafkajs/src/protocol/request': () => frameRequest(I),
      'kafkajs/src/producer/groupMessagesPerPartition': () => groupMessagesPerPartition,
    },
  });
}

installProduceEncoder();
