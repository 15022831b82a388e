import {
  Attributes,
  Context,
  context,
  Link,
  Span,
  SpanStatusCode,
  trace,
  Tracer,
} from '@opentelemetry/api';
import { redactSecrets } from '../config/secrets';

/** The one tracer of logsplit's own spans. */
export function tracer(): Tracer {
  return trace.getTracer('logsplit');
}

export interface SpanOptions {
  attributes?: Attributes;
  links?: Link[];
  /** Parent context; default: the active one (the enclosing span). */
  parent?: Context;
  /** Start a new trace even inside another span (fan-in: the parents are links instead). */
  root?: boolean;
}

/**
 * Runs fn inside a new active span and ends it when fn settles; an error is recorded on the span
 * and rethrown. Spans nest through the active context, so a child needs no explicit parent.
 */
export async function inSpan<T>(
  name: string,
  opts: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    { attributes: opts.attributes, links: opts.links, root: opts.root },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        // Error messages may quote what a server answered: known secret values are masked.
        const e = err instanceof Error ? err : new Error(String(err));
        span.recordException({
          name: e.name,
          message: redactSecrets(e.message),
          stack: e.stack && redactSecrets(e.stack),
        });
        span.setStatus({ code: SpanStatusCode.ERROR, message: redactSecrets(String(err)) });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
