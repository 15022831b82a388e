import {
  DLQ_HEADERS,
  encodeChunkHeaders,
  KafkaBatch,
  Metrics,
  StageEvents,
} from '@logsplit/common';
import { KafkaMessage, Message } from 'kafkajs';
import { ChunkIntake } from './chunk-intake';
import { PartitionHold } from './partition-guard';

function message(offset: number, app: string, key = app): KafkaMessage {
  return {
    key: Buffer.from(key),
    value: Buffer.from(`{"app":"${app}"}\n`),
    headers: encodeChunkHeaders({
      app,
      records: 1,
      source: { topic: 'raw', partition: 0, firstOffset: '0', lastOffset: '0' },
      minTime: 1,
      maxTime: 1,
    }),
    offset: String(offset),
    timestamp: '0',
    attributes: 0,
  };
}

function rig(held: number[] = []) {
  const sent: { topic: string; messages: Message[] }[] = [];
  const producer = { send: async (r: typeof sent) => void sent.push(...r) };
  const metrics = new Metrics('compressor', 10);
  const events = new StageEvents(metrics, { log: () => {}, warn: () => {}, error: () => {} });
  const hold = { holds: (o: number) => held.includes(o) } as Pick<PartitionHold, 'holds'>;
  return { intake: new ChunkIntake(producer, 'dlq', events), sent, metrics, hold };
}

const batch = (messages: KafkaMessage[]) =>
  ({ topic: 'by-app', partition: 3, messages }) as Pick<
    KafkaBatch,
    'topic' | 'partition' | 'messages'
  >;

describe('ChunkIntake', () => {
  it('groups valid chunks by app, in order', async () => {
    const { intake, hold } = rig();
    const b = batch([message(0, 'a'), message(1, 'b'), message(2, 'a')]);
    const { byApp, finished } = await intake.take(b, b.messages, hold);
    expect([...byApp].map(([app, cs]) => [app, cs.map((c) => c.offset)])).toEqual([
      ['a', [0, 2]],
      ['b', [1]],
    ]);
    expect(finished).toEqual([]);
  });

  it('sends a chunk whose key differs from its app to the dead-letter topic, finished', async () => {
    const { intake, sent, metrics, hold } = rig();
    const b = batch([message(0, 'a'), message(1, 'a', 'b')]);
    const { byApp, finished } = await intake.take(b, b.messages, hold);
    expect(finished).toEqual([1]);
    expect(byApp.get('a')!.map((c) => c.offset)).toEqual([0]);
    expect(sent).toHaveLength(1);
    expect(sent[0].topic).toBe('dlq');
    expect(sent[0].messages[0].headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'invalid-chunk',
      [DLQ_HEADERS.sourcePartition]: '3',
      [DLQ_HEADERS.sourceOffset]: '1',
    });
    expect(await metrics.text()).toMatch(
      /logsplit_dlq_records_total\{reason="invalid-chunk"[^}]*\} 1/,
    );
  });

  it('skips chunks the spool already holds, counting them as finished and taken in', async () => {
    const { intake, metrics, hold } = rig([0, 2]);
    const b = batch([message(0, 'a'), message(1, 'b'), message(2, 'a')]);
    const { byApp, finished } = await intake.take(b, b.messages, hold);
    expect([...byApp.keys()]).toEqual(['b']);
    expect(finished).toEqual([0, 2]);
    expect(await metrics.text()).toMatch(/logsplit_records_in_total\{app="a"[^}]*\} 2/);
  });
});
