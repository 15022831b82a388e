import { trace, TraceFlags } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { inSpan } from './spans';
import {
  boundedLinks,
  contextFromHeaders,
  parseTraceparent,
  spanContextFromHeaders,
  traceHeaders,
  traceparentOf,
} from './trace-context';
import { startTracing, Tracing } from './tracing';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

describe('trace context in Kafka headers (real SDK, in-memory exporter)', () => {
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
  afterAll(() => tracing.shutdown());
  beforeEach(() => exporter.reset());

  it('injects the active span as a W3C traceparent header and extracts it from bytes', async () => {
    let headers: Record<string, string> = {};
    let spanId = '';
    let traceId = '';
    await inSpan('producer', {}, async (span) => {
      headers = traceHeaders();
      ({ spanId, traceId } = span.spanContext());
    });
    expect(headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    // kafkajs delivers header values as Buffers.
    const sc = spanContextFromHeaders({ traceparent: Buffer.from(headers.traceparent) });
    expect(sc).toMatchObject({ traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  });

  it('continues the trace: a span started in the extracted context is its child', async () => {
    const headers = { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, other: 'x' };
    await inSpan('consumer', { parent: contextFromHeaders(headers) }, async () => undefined);
    const [span] = exporter.getFinishedSpans();
    expect(span.name).toBe('consumer');
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(span.resource.attributes).toMatchObject({
      'service.name': 'test',
      'service.version': '0.0.0',
      'service.instance.id': 'test-1',
    });
  });

  it('ignores missing or malformed headers', () => {
    expect(spanContextFromHeaders(undefined)).toBeUndefined();
    expect(spanContextFromHeaders({})).toBeUndefined();
    expect(spanContextFromHeaders({ traceparent: 'garbage' })).toBeUndefined();
    expect(spanContextFromHeaders({ traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` })).toBe(
      undefined,
    );
    expect(trace.getSpanContext(contextFromHeaders({ traceparent: 'x' }))).toBeUndefined();
  });

  it('round-trips traceparentOf → parseTraceparent (what a manifest stores)', async () => {
    let tp: string | undefined;
    let ids = { traceId: '', spanId: '' };
    await inSpan('append', {}, async (span) => {
      tp = traceparentOf(span);
      ids = span.spanContext();
    });
    expect(parseTraceparent(tp!)).toMatchObject({ traceId: ids.traceId, spanId: ids.spanId });
    expect(parseTraceparent('00-xyz')).toBeUndefined();
  });

  it('records an error and rethrows it', async () => {
    await expect(
      inSpan('fails', {}, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const [span] = exporter.getFinishedSpans();
    expect(span.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(span.events[0].name).toBe('exception');
  });

  it('a root span starts a new trace even inside another span, with links', async () => {
    const linked = parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01`)!;
    await inSpan('outer', {}, () =>
      inSpan('fan-in', { root: true, links: boundedLinks([linked], 8) }, async () => undefined),
    );
    const fanIn = exporter.getFinishedSpans().find((s) => s.name === 'fan-in')!;
    const outer = exporter.getFinishedSpans().find((s) => s.name === 'outer')!;
    expect(fanIn.parentSpanContext).toBeUndefined();
    expect(fanIn.spanContext().traceId).not.toBe(outer.spanContext().traceId);
    expect(fanIn.links.map((l) => l.context.spanId)).toEqual([SPAN_ID]);
  });
});

describe('boundedLinks', () => {
  it('deduplicates, skips undefined and stops at the bound', () => {
    const sc = (i: number) =>
      parseTraceparent(`00-${TRACE_ID}-${i.toString(16).padStart(16, '0')}-01`);
    const links = boundedLinks([sc(1), undefined, sc(1), sc(2), sc(3), sc(4)], 3);
    expect(links.map((l) => l.context.spanId)).toEqual([
      '0000000000000001',
      '0000000000000002',
      '0000000000000003',
    ]);
  });
});
