import { checkHealth, watchHealth } from './check-health';
import { HealthMonitor } from './health-monitor';
import { HealthServer, startHealthServer } from './health-server';
import { HealthState } from './health-state';

describe('HealthState behind a real grpc.health.v1 server', () => {
  let state: HealthState;
  let server: HealthServer;
  let address: string;

  beforeEach(async () => {
    state = new HealthState(['kafka', 'redis']);
    server = await startHealthServer(state, '127.0.0.1', 0);
    address = `127.0.0.1:${server.port}`;
  });
  afterEach(() => server.close());

  it('is NOT_SERVING until every component is up, SERVING then', async () => {
    expect(await checkHealth(address)).toBe('NOT_SERVING');
    state.set('kafka', true);
    expect(await checkHealth(address)).toBe('NOT_SERVING');
    expect(await checkHealth(address, 'kafka')).toBe('SERVING');
    expect(await checkHealth(address, 'redis')).toBe('NOT_SERVING');
    state.set('redis', true);
    expect(await checkHealth(address)).toBe('SERVING');
  });

  it('answers SERVICE_UNKNOWN for a component the service does not have', async () => {
    expect(await checkHealth(address, 'store')).toBe('SERVICE_UNKNOWN');
  });

  it('Watch streams changes only, and NOT_SERVING for good once shutting down', async () => {
    const watch = watchHealth(address);
    try {
      await watch.next('NOT_SERVING', 2000);
      state.set('kafka', true);
      state.set('redis', true);
      await watch.next('SERVING', 2000);
      state.set('redis', true); // no change: nothing streamed
      state.set('redis', false);
      await watch.next('NOT_SERVING', 2000);
      state.set('redis', true);
      await watch.next('SERVING', 2000);
      state.shutdown();
      await watch.next('NOT_SERVING', 2000);
      state.set('redis', true); // ignored after shutdown
      expect(await checkHealth(address)).toBe('NOT_SERVING');
      expect(watch.seen).toEqual([
        'NOT_SERVING',
        'SERVING',
        'NOT_SERVING',
        'SERVING',
        'NOT_SERVING',
      ]);
    } finally {
      watch.cancel();
    }
  });

  it('rejects when nothing listens at the address', async () => {
    await server.close();
    await expect(checkHealth(address, '', 500)).rejects.toThrow();
  });
});

describe('HealthMonitor', () => {
  it('marks a component down when its probe fails or hangs past the timeout', async () => {
    const state = new HealthState(['kafka', 'redis']);
    let redisUp = true;
    const monitor = new HealthMonitor(
      state,
      {
        kafka: async () => undefined,
        redis: () => (redisUp ? Promise.resolve() : new Promise(() => undefined)),
      },
      { intervalMs: 60_000, timeoutMs: 50 },
    );
    await monitor.probeAll();
    expect(state.serving).toBe(true);
    redisUp = false;
    await monitor.probeAll();
    expect(state.serving).toBe(false);
    redisUp = true;
    await monitor.probeAll();
    expect(state.serving).toBe(true);
  });
});

describe('HealthMonitor reasons', () => {
  it("keeps a failed probe's message as the component's reason until it succeeds", async () => {
    const state = new HealthState(['kafka']);
    let failure: string | undefined = 'KAFKA_SASL_PASSWORD rejected by the broker';
    const monitor = new HealthMonitor(
      state,
      { kafka: async () => void (failure && (await Promise.reject(new Error(failure)))) },
      { intervalMs: 60_000, timeoutMs: 1000 },
    );
    await monitor.probeAll();
    expect(state.reason('kafka')).toBe('KAFKA_SASL_PASSWORD rejected by the broker');
    failure = undefined;
    await monitor.probeAll();
    expect(state.serving).toBe(true);
    expect(state.reason('kafka')).toBe('');
  });
});
