import { trace } from '@opentelemetry/api';
import { inSpan } from './spans';
import { traceHeaders, traceparentOf } from './trace-context';
import { startTracing } from './tracing';

// Its own file: the OpenTelemetry API keeps its providers in a per-file global, so no other
// suite has registered an SDK here.
describe('tracing switched off', () => {
  it('registers no provider: spans do not record and no context travels in headers', async () => {
    const t = startTracing({ service: 's', version: 'v', instanceId: 'i', enabled: false });
    expect(t.enabled).toBe(false);
    let headers: Record<string, string> = { untouched: 'yes' };
    let recording = true;
    let tp: string | undefined = 'set';
    await inSpan('anything', {}, async (span) => {
      recording = span.isRecording();
      headers = traceHeaders();
      tp = traceparentOf(span);
    });
    expect(recording).toBe(false);
    expect(headers).toEqual({});
    expect(tp).toBeUndefined();
    expect(trace.getTracer('x').startSpan('y').isRecording()).toBe(false);
    await t.shutdown();
  });
});
