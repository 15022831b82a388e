/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs internals, loaded to be replaced */
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
 * and request framing, and the linear grouping of a send's messages in place of kafkajs' own. Must run before kafkajs loads its connection module (main.ts imports this
 * first); idempotent. Under a module system of its own (jest) there is nothing to replace.
 */
export function installProduceEncoder(): void {
  if (installed) return;
  installed = true;
  const framing = require.resolve('kafkajs/src/protocol/request');
  const produce = require.resolve('kafkajs/src/protocol/requests/produce/v3/request');
  const grouping = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');
  const users = ['kafkajs/src/network/connection', 'kafkajs/src/producer/sendMessages'];
  if (users.some((id) => require.cache[require.resolve(id)])) {
    process.stderr.write(
      'logsplit: kafkajs was loaded before the produce encoder could be installed; ' +
        'it keeps its own (slower) encoder.\n',
    );
    return;
  }
  const load = (id: string) => require(id) as unknown;
  const I = {
    Encoder: load('kafkajs/src/protocol/encoder'),
    Long: load('kafkajs/src/utils/long'),
    crc32C: crc32c,
    produceApiKey: (load('kafkajs/src/protocol/requests/apiKeys') as { Produce: number }).Produce,
    produceV3: load(produce),
  } as KafkajsInternals;
  require(framing);
  require(grouping);
  const produceEntry = require.cache[produce];
  const framingEntry = require.cache[framing];
  const groupingEntry = require.cache[grouping];
  if (!produceEntry || !framingEntry || !groupingEntry) return;
  produceEntry.exports = produceRequestV3(I);
  framingEntry.exports = frameRequest(I);
  groupingEntry.exports = groupMessagesPerPartition;
}

installProduceEncoder();
