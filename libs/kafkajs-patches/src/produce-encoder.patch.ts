import { crc32c } from './crc32c';
import type { KafkajsPatch } from './kafkajs-patch';
import { kafkajsFunction } from './kafkajs-shape';
import { KafkajsPatchError } from './patch-error';
import {
  frameRequest,
  groupMessagesPerPartition,
  produceRequestV3,
  type KafkajsInternals,
} from './produce-encoder';

const PRODUCE_V3 = 'kafkajs/src/protocol/requests/produce/v3/request';
const FRAME = 'kafkajs/src/protocol/request';
const GROUP = 'kafkajs/src/producer/groupMessagesPerPartition';

/**
 * The one-pass produce encoder (produce-encoder.ts) in place of kafkajs' v3 produce request and
 * request framing, and the linear grouping of a send's messages in place of kafkajs' own.
 */
export const produceEncoderPatch: KafkajsPatch = {
  name: 'produce-encoder',
  users: ['kafkajs/src/network/connection', 'kafkajs/src/producer/sendMessages'],
  replacements: (original) => {
    kafkajsFunction(FRAME, original(FRAME));
    kafkajsFunction(GROUP, original(GROUP));
    const Long = original('kafkajs/src/utils/long') as { fromValue?: unknown };
    kafkajsFunction('kafkajs/src/utils/long fromValue', Long?.fromValue);
    const apiKeys = original('kafkajs/src/protocol/requests/apiKeys') as { Produce?: unknown };
    if (apiKeys?.Produce !== 0)
      throw new KafkajsPatchError('kafkajs internals changed: apiKeys.Produce is not 0');
    const I = {
      Encoder: kafkajsFunction(
        'kafkajs/src/protocol/encoder',
        original('kafkajs/src/protocol/encoder'),
      ),
      Long,
      crc32C: crc32c,
      produceApiKey: apiKeys.Produce,
      produceV3: kafkajsFunction(PRODUCE_V3, original(PRODUCE_V3)),
    } as KafkajsInternals;
    return {
      [PRODUCE_V3]: produceRequestV3(I),
      [FRAME]: frameRequest(I),
      [GROUP]: groupMessagesPerPartition,
    };
  },
};
