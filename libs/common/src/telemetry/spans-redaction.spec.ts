import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { forgetSecrets, rememberSecret } from '../config/secrets';
import { inSpan } from './spans';
import { startTracing, Tracing } from './tracing';

// Its own file: the OpenTelemetry API keeps its providers in a per-file global.
describe('a failed span never carries a known secret value', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;

  beforeAll(() => {
    tracing = startTracing({
      service: 'test',
      version: '0.0.0',
      instanceId: 'test-1',
      enabled: true,
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
  });
  afterAll(async () => {
    forgetSecrets();
    await tracing.shutdown();
  });

  it('masks it in the status message and the exception event', async () => {
    rememberSecret('pw-9d1c77e0');
    await expect(
      inSpan('fails', {}, async () => {
        throw new Error('server said: bad login pw-9d1c77e0');
      }),
    ).rejects.toThrow('pw-9d1c77e0'); // the caller still gets the error as it was
    const [span] = exporter.getFinishedSpans();
    const text = JSON.stringify({ status: span.status, events: span.events });
    expect(text).toContain('bad login [redacted]');
    expect(text).not.toContain('pw-9d1c77e0');
  });
});
