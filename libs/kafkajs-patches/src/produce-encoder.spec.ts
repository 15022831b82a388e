/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs internals, the reference */
import { mulberry32 } from '@logsplit/common/util';
import { crc32c } from './crc32c';
import {
  frameRequest,
  groupMessagesPerPartition,
  produceRequestV3,
  type KafkajsInternals,
  type ProduceMessage,
  type ProduceRequest,
  type ProduceRequestArgs,
} from './produce-encoder';

type Encoder = { buffer: Buffer };
const kafkajsV3: KafkajsInternals['produceV3'] = require('kafkajs/src/protocol/requests/produce/v3/request');
const kafkajsFrame: (
  r: ReturnType<typeof frame>,
) => Promise<Encoder> = require('kafkajs/src/protocol/request');
const Long: KafkajsInternals['Long'] = require('kafkajs/src/utils/long');

const internals = (produceV3 = kafkajsV3): KafkajsInternals => ({
  Encoder: require('kafkajs/src/protocol/encoder'),
  Long,
  crc32C: crc32c,
  produceApiKey: require('kafkajs/src/protocol/requests/apiKeys').Produce,
  produceV3,
});

const frame = (request: ProduceRequest) => ({ correlationId: 7, clientId: 'logsplit-ü', request });

async function both(args: ProduceRequestArgs): Promise<[Buffer, Buffer]> {
  const I = internals();
  const theirs = await kafkajsFrame(frame(kafkajsV3(args)));
  const ours = (await frameRequest(I)(frame(produceRequestV3(I)(args)))) as unknown as Encoder;
  return [theirs.buffer, ours.buffer];
}

/** Random bytes or text of a length drawn to cross the varint size steps (1, 2, 3 bytes). */
function randomBytes(rand: () => number): string | Buffer {
  const small = [0, 1, 5, 63, 64, 127, 128, 300];
  const len =
    rand() < 0.05 ? [8191, 8192, 20000][Math.floor(rand() * 3)] : small[Math.floor(rand() * 8)];
  const kind = rand();
  if (kind < 0.4) return Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256)));
  const alphabet = ['a', 'Z', '0', '"', '\n', 'é', '订', '😀', '\u0000'];
  return Array.from({ length: len }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
}

function randomMessage(rand: () => number): ProduceMessage {
  const pick = <T>(...xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const headers: Record<string, string | Buffer | (string | Buffer)[]> = {};
  const n = Math.floor(rand() * 9);
  for (let i = 0; i < n; i++) {
    const name = pick('logsplit-app', 'logsplit-records', 'traceparent', 'ä-name', `h${i}`, '');
    headers[name] =
      rand() < 0.2
        ? Array.from({ length: Math.floor(rand() * 3) }, () => randomBytes(rand))
        : randomBytes(rand);
  }
  const m: ProduceMessage = {
    key: pick(null, undefined, randomBytes(rand), 'app-0001'),
    value: pick(null, randomBytes(rand), randomBytes(rand)),
  };
  if (rand() < 0.9) m.headers = headers;
  return m;
}

describe('one-pass produce encoder', () => {
  beforeEach(() => jest.spyOn(Date, 'now').mockReturnValue(1_790_000_000_123));
  afterEach(() => jest.restoreAllMocks());

  it('writes the same bytes as kafkajs for a splitter-like request', async () => {
    const chunk = (app: string, lines: number) => ({
      key: app,
      value: Buffer.from(`{"app":"${app}","msg":"x"}\n`.repeat(lines)),
      headers: {
        'logsplit-app': app,
        'logsplit-records': String(lines),
        'logsplit-format': 'lines/v1',
      },
    });
    const [theirs, ours] = await both({
      acks: -1,
      timeout: 30_000,
      transactionalId: 'splitter-raw-3',
      producerId: '4001',
      producerEpoch: 2,
      topicData: [
        {
          topic: 'logs.by-app',
          partitions: [
            { partition: 0, firstSequence: 17, messages: [chunk('a', 1), chunk('b', 900)] },
            { partition: 5, firstSequence: 0, messages: [chunk('c', 3)] },
          ],
        },
        {
          topic: 'logs.dlq',
          partitions: [{ partition: 0, messages: [{ key: null, value: null }] }],
        },
      ],
    });
    expect(ours.equals(theirs)).toBe(true);
  });

  it('writes the same bytes as kafkajs for 200 random requests', async () => {
    const rand = mulberry32(6);
    for (let r = 0; r < 200; r++) {
      const topicData = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, t) => ({
        topic: `topic-${t}-é`,
        partitions: Array.from({ length: Math.floor(rand() * 4) }, (_, p) => ({
          partition: p * 3,
          firstSequence: rand() < 0.3 ? undefined : Math.floor(rand() * 2 ** 31),
          messages: Array.from({ length: Math.floor(rand() * 6) }, () => randomMessage(rand)),
        })),
      }));
      const args: ProduceRequestArgs = {
        acks: rand() < 0.8 ? -1 : 1,
        timeout: 30_000,
        transactionalId: rand() < 0.7 ? `tx-${r}` : rand() < 0.5 ? null : undefined,
        producerId: [undefined, 42, '9007199254740993', Long.fromValue(-1)][r % 4],
        producerEpoch: r % 3 === 0 ? undefined : r % 7,
        topicData,
      };
      const [theirs, ours] = await both(args);
      expect(ours.equals(theirs)).toBe(true);
    }
  });

  it('leaves compression, explicit timestamps and odd values to kafkajs', () => {
    const calls: ProduceRequestArgs[] = [];
    const spy: KafkajsInternals['produceV3'] = (args) => {
      calls.push(args);
      return kafkajsV3(args);
    };
    const v3 = produceRequestV3(internals(spy));
    const one = (m: ProduceMessage, compression?: number) => ({
      acks: -1,
      timeout: 1000,
      compression,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [m] }] }],
    });
    v3(one({ key: 'k', value: 'v' }));
    expect(calls).toHaveLength(0);
    const odd: [ProduceMessage, number?][] = [
      [{ key: 'k', value: 'v' }, 1],
      [{ key: 'k', value: 'v', timestamp: '1700000000000' }],
      [{ key: 5, value: 'v' }],
      [{ key: 'k', value: new Uint8Array(3) }],
      [{ key: 'k', value: 'v', headers: { h: undefined } }],
      [{ key: 'k', value: 'v', headers: null as never }],
    ];
    for (const [m, compression] of odd) v3(one(m, compression));
    expect(calls).toHaveLength(odd.length);
  });
});

describe('crc32c', () => {
  const reference: (b: Buffer) => number = require('kafkajs/src/protocol/recordBatch/crc32C');

  it('has the CRC-32C check value', () => {
    expect(crc32c(Buffer.from('123456789')).toString(16)).toBe('e3069283');
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('equals kafkajs on every length around the 8-byte steps and on odd offsets', () => {
    const rand = mulberry32(32);
    const big = Buffer.from(Array.from({ length: 5000 }, () => Math.floor(rand() * 256)));
    for (let len = 0; len < 70; len++) {
      for (const start of [0, 1, 3]) {
        const b = big.subarray(start, start + len);
        expect(crc32c(b)).toBe(reference(b));
      }
    }
    expect(crc32c(big)).toBe(reference(big));
  });
});

describe('groupMessagesPerPartition', () => {
  const reference: typeof groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition');

  it('groups like kafkajs: same partitioner calls, partitions and order', () => {
    const rand = mulberry32(7);
    const messages = Array.from({ length: 500 }, (_, i) => ({
      key: `app-${Math.floor(rand() * 40)}`,
      i,
    }));
    const partitionMetadata = Array.from({ length: 6 }, (_, p) => ({ partitionId: p, leader: 1 }));
    const calls: unknown[][] = [[], []];
    const partitioner = (log: unknown[]) => (a: { message: { key: string } }) => {
      log.push(a.message);
      return Number(a.message.key.slice(4)) % 6;
    };
    const args = (log: unknown[]) => ({
      topic: 't',
      partitionMetadata,
      messages,
      partitioner: partitioner(log),
    });
    expect(groupMessagesPerPartition(args(calls[0]))).toEqual(reference(args(calls[1])));
    expect(calls[0]).toEqual(calls[1]);
    expect(groupMessagesPerPartition({ ...args([]), partitionMetadata: [] })).toEqual({});
  });
});
