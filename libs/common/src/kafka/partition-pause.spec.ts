import { Metrics } from '../telemetry/metrics';
import { BackpressureError } from './backpressure-error';
import { Pausable, PartitionPause } from './partition-pause';

function setup() {
  const calls: string[] = [];
  const consumer: Pausable = {
    pause: (tps) => calls.push(`pause ${tps[0].topic}[${tps[0].partitions.join()}]`),
    resume: (tps) => calls.push(`resume ${tps[0].topic}[${tps[0].partitions.join()}]`),
  };
  const lines: string[] = [];
  const log = {
    warn: (m: string) => lines.push(`warn ${m}`),
    log: (m: string) => lines.push(`log ${m}`),
  };
  let now = 1_000;
  const metrics = new Metrics('test', 10);
  const pause = new PartitionPause(consumer, 't', 3, metrics, log, () => now);
  const gauge = async () =>
    (await metrics.consumerPaused.get()).values
      .filter((v) => v.value !== 0)
      .map((v) => `${v.labels.topic}[${v.labels.partition}] ${v.labels.reason}`);
  const pauses = async () =>
    (await metrics.consumerPauses.get()).values.map((v) => `${v.labels.reason}=${v.value}`);
  return { calls, lines, metrics, pause, gauge, pauses, tick: (ms: number) => (now += ms) };
}

describe('PartitionPause', () => {
  it('pauses and reports once on the first failure, resumes and reports how long on success', async () => {
    const s = setup();
    expect(s.pause.failed(new BackpressureError('redis', 'redis down'))).toBe('redis');
    s.tick(400);
    s.pause.failed(new BackpressureError('redis', 'still down'));
    expect(s.calls).toEqual(['pause t[3]']);
    expect(await s.gauge()).toEqual(['t[3] redis']);
    expect(await s.pauses()).toEqual(['redis=1']);
    s.tick(600);
    s.pause.end('succeeded');
    expect(s.calls).toEqual(['pause t[3]', 'resume t[3]']);
    expect(await s.gauge()).toEqual([]);
    expect(s.lines).toEqual([
      'warn paused t[3] (reason: redis): BackpressureError: redis down',
      'log resumed t[3] after 1000 ms paused (reason: redis)',
    ]);
    expect(s.pause.paused).toBe(false);
  });

  it('follows a changed reason without pausing or counting again', async () => {
    const s = setup();
    s.pause.failed(new BackpressureError('redis', 'redis down'));
    s.pause.failed(new BackpressureError('store', 'store failing'));
    expect(await s.gauge()).toEqual(['t[3] store']);
    expect(await s.pauses()).toEqual(['redis=1']);
    expect(s.calls).toEqual(['pause t[3]']);
  });

  it('says when the batch was given up, and does nothing when never paused', () => {
    const s = setup();
    s.pause.end('succeeded');
    expect(s.calls).toEqual([]);
    s.pause.failed(new Error('x'));
    s.pause.end('shutting down');
    expect(s.lines[1]).toBe(
      'log resumed t[3] after 0 ms paused (reason: error); batch given up: shutting down',
    );
  });
});
