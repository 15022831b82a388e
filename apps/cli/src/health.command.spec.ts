import { HealthServer, HealthState, startHealthServer } from '@logsplit/common';
import { health } from './health.command';

describe('logsplit health', () => {
  let state: HealthState;
  let server: HealthServer;
  beforeAll(async () => {
    state = new HealthState(['kafka', 'store']);
    server = await startHealthServer(state, '127.0.0.1', 0);
  });
  afterAll(() => server.close());

  const ask = (service = '') =>
    health({ addr: `127.0.0.1:${server.port}`, service, timeoutMs: '2000' });

  it('reports the whole service and each component as the server does', async () => {
    expect(await ask()).toBe('NOT_SERVING');
    state.set('kafka', true);
    expect(await ask('kafka')).toBe('SERVING');
    expect(await ask()).toBe('NOT_SERVING');
    state.set('store', true);
    expect(await ask()).toBe('SERVING');
    expect(await ask('redis')).toBe('SERVICE_UNKNOWN');
  });

  it('says UNREACHABLE when nothing listens', async () => {
    const closed = await startHealthServer(new HealthState([]), '127.0.0.1', 0);
    await closed.close();
    expect(
      await health({ addr: `127.0.0.1:${closed.port}`, service: '', timeoutMs: '500' }),
    ).toMatch(/^UNREACHABLE /);
  });
});
