import {
  context,
  Context,
  isSpanContextValid,
  Link,
  propagation,
  Span,
  SpanContext,
  trace,
  TraceFlags,
} from '@opentelemetry/api';

/** Kafka headers as kafkajs delivers them (values are bytes) or as we produce them (strings). */
export type KafkaHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/** W3C trace context header names (https://www.w3.org/TR/trace-context/). */
export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

const headerGetter = {
  keys: (carrier: KafkaHeaders) => Object.keys(carrier),
  get: (carrier: KafkaHeaders, key: string) => {
    const v = carrier[key];
    const one = Array.isArray(v) ? v[0] : v;
    return one === undefined ? undefined : one.toString();
  },
};

/**
 * The W3C trace context of `ctx` (default: the active one) as Kafka headers, through the
 * registered propagator; empty when tracing is off or nothing is being recorded.
 */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  return headers;
}

/** The remote span context a message carries, if it carries a valid one. */
export function spanContextFromHeaders(headers: KafkaHeaders | undefined): SpanContext | undefined {
  if (!headers) return undefined;
  const ctx = propagation.extract(context.active(), headers, headerGetter);
  const sc = trace.getSpanContext(ctx);
  return sc && isSpanContextValid(sc) ? sc : undefined;
}

/** A context whose parent is the message's span (or the active context when it has none). */
export function contextFromHeaders(headers: KafkaHeaders | undefined): Context {
  const sc = spanContextFromHeaders(headers);
  return sc ? trace.setSpanContext(context.active(), sc) : context.active();
}

/** A span's context as one W3C traceparent string; undefined when the span is not sampled. */
export function traceparentOf(span: Span): string | undefined {
  const sc = span.spanContext();
  if (!isSpanContextValid(sc) || !(sc.traceFlags & TraceFlags.SAMPLED)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context of a traceparent string (as stored in a segment's manifest). */
export function parseTraceparent(value: string): SpanContext | undefined {
  const m = TRACEPARENT_RE.exec(value);
  if (!m) return undefined;
  const sc: SpanContext = {
    traceId: m[1],
    spanId: m[2],
    traceFlags: parseInt(m[3], 16),
    isRemote: true,
  };
  return isSpanContextValid(sc) ? sc : undefined;
}

/**
 * Links to distinct span contexts, at most `max`: a batch that fans in many messages (or a
 * segment many blocks) keeps its span bounded while still pointing at where its data came from.
 */
export function boundedLinks(contexts: Iterable<SpanContext | undefined>, max: number): Link[] {
  const seen = new Set<string>();
  const links: Link[] = [];
  for (const sc of contexts) {
    if (links.length >= max) break;
    if (!sc) continue;
    const id = `${sc.traceId}-${sc.spanId}`;
    if (seen.has(id)) continue;
    seen.add(id);
    links.push({ context: sc });
  }
  return links;
}
