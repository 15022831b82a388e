import { context, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace';
import { createSampler } from './sampler';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const link = (flags: TraceFlags) => ({
  context: { traceId: TRACE, spanId: 'b7ad6b7169203331', traceFlags: flags, isRemote: true },
});
const parent = (flags: TraceFlags) =>
  trace.setSpanContext(context.active(), {
    traceId: TRACE,
    spanId: '00f067aa0ba902b7',
    traceFlags: flags,
    isRemote: true,
  });
const decide = (
  name: Parameters<typeof createSampler>[0],
  ctx = context.active(),
  links = [link(TraceFlags.NONE)],
) => createSampler(name, 0).shouldSample(ctx, TRACE, 'span', SpanKind.INTERNAL, {}, links).decision;

describe('createSampler', () => {
  it('samples a root span (an upload, a batch) when one of its links is sampled', () => {
    expect(
      decide('parentbased_traceidratio', context.active(), [
        link(TraceFlags.NONE),
        link(TraceFlags.SAMPLED),
      ]),
    ).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide('parentbased_always_off', context.active(), [link(TraceFlags.SAMPLED)])).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
  });

  it('otherwise leaves the decision to the configured sampler (ratio 0: not sampled)', () => {
    expect(decide('parentbased_traceidratio')).toBe(SamplingDecision.NOT_RECORD);
    expect(decide('parentbased_traceidratio', context.active(), [])).toBe(
      SamplingDecision.NOT_RECORD,
    );
    expect(decide('parentbased_always_on')).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('a parent decides over links', () => {
    expect(
      decide('parentbased_always_on', parent(TraceFlags.NONE), [link(TraceFlags.SAMPLED)]),
    ).toBe(SamplingDecision.NOT_RECORD);
    expect(decide('parentbased_traceidratio', parent(TraceFlags.SAMPLED))).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
  });

  it('always_off means off, links or not', () => {
    expect(decide('always_off', context.active(), [link(TraceFlags.SAMPLED)])).toBe(
      SamplingDecision.NOT_RECORD,
    );
  });
});
