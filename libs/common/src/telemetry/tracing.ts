import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { SamplerName } from './sampler';

export interface TracingOptions {
  /** splitter, compressor, uploader: the service.name Jaeger lists. */
  service: string;
  version: string;
  instanceId: string;
  enabled: boolean;
  /** OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG; default parentbased_always_on. */
  sampler?: SamplerName;
  samplerRatio?: number;
  /** Replaces the OTLP exporter (tests: an in-memory exporter behind a SimpleSpanProcessor). */
  spanProcessors?: SpanProcessor[];
}

export interface Tracing {
  readonly enabled: boolean;
  /** Exports what is buffered; call last at shutdown. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK before Nest boots, so every span of the service has a provider.
 * The exporter, batch delays and sampler come from the standard OTEL_* variables
 * (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_BSP_*); the sampler is the one OTEL_TRACES_SAMPLER names,
 * made to follow sampled links (see LinkFollowingSampler). Disabled tracing loads and registers
 * nothing: the API's no-op tracer makes every span call free.
 */
export function startTracing(opts: TracingOptions): Tracing {
  if (!opts.enabled) return { enabled: false, shutdown: async () => undefined };
  // Required here, not imported: the SDK's packages take ~300 ms of CPU to load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startSdk } = require('./tracing-sdk') as typeof import('./tracing-sdk');
  return startSdk(opts);
}
