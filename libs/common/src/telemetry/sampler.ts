import { Attributes, Context, Link, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  Sampler,
  SamplingDecision,
  SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';

/** OTEL_TRACES_SAMPLER values (the OpenTelemetry spec's names). */
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/**
 * Parent-based sampling that also follows links. logsplit's fan-in spans (a splitter batch of
 * many producers' records, an upload of a segment made of many compressor spans) are roots with
 * links instead of a parent; a plain parent-based sampler would sample them independently and
 * break a sampled record's story at the segment. Here a root span with a sampled link is sampled.
 */
export class LinkFollowingSampler implements Sampler {
  constructor(private readonly inner: Sampler) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (
      !trace.getSpanContext(ctx) &&
      links.some((l) => (l.context.traceFlags & TraceFlags.SAMPLED) !== 0)
    ) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.inner.shouldSample(ctx, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `LinkFollowing{${this.inner.toString()}}`;
  }
}

/** The sampler OTEL_TRACES_SAMPLER[_ARG] name; parent-based ones also follow sampled links. */
export function createSampler(name: SamplerName = 'parentbased_always_on', ratio = 1): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new LinkFollowingSampler(new ParentBasedSampler({ root: new AlwaysOnSampler() }));
    case 'parentbased_always_off':
      return new LinkFollowingSampler(new ParentBasedSampler({ root: new AlwaysOffSampler() }));
    case 'parentbased_traceidratio':
      return new LinkFollowingSampler(
        new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
      );
  }
}
