import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { reviveOnCrash } from './consumer-revival';
import { KafkaProblems } from './kafka-problems';

/** Just the events and calls reviveOnCrash uses. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const consumer = {
    events: { CRASH: 'crash', GROUP_JOIN: 'join' },
    on: (event: string, fn: (e: unknown) => void) => emitter.on(event, fn),
    connect: jest.fn(async () => undefined),
  };
  return { consumer: consumer as unknown as Consumer, emitter, connect: consumer.connect };
}

describe('reviveOnCrash', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('restarts a consumer kafkajs gave up on, reporting why until the group is joined', async () => {
    const { consumer, emitter, connect } = fakeConsumer();
    const run = jest.fn(async () => undefined);
    const problems = new KafkaProblems((err) => `described: ${(err as Error).message}`);
    reviveOnCrash({ consumer, run, closing: () => false, problems, baseMs: 100, capMs: 100 });

    emitter.emit('crash', { payload: { error: new Error('denied'), restart: false } });
    expect(problems.current).toBe('described: denied');
    expect(run).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(100);
    expect(connect).toHaveBeenCalledTimes(1);
    expect(run).toHaveBeenCalledTimes(1);

    emitter.emit('join', { payload: {} });
    expect(problems.current).toBeUndefined();
  });

  it('leaves kafkajs its own restarts, and a closing consumer alone', async () => {
    const { consumer, emitter } = fakeConsumer();
    const run = jest.fn(async () => undefined);
    let closing = false;
    reviveOnCrash({ consumer, run, closing: () => closing, baseMs: 100, capMs: 100 });
    emitter.emit('crash', { payload: { error: new Error('retriable'), restart: true } });
    closing = true;
    emitter.emit('crash', { payload: { error: new Error('fatal'), restart: false } });
    await jest.advanceTimersByTimeAsync(1000);
    expect(run).not.toHaveBeenCalled();
  });
});
