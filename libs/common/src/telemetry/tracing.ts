import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { createSampler, SamplerName } from './sampler';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

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

/** service.instance.id: stable name of the resource attribute (still "incubating" in semconv). */
export const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id';

/**
 * Starts the OpenTelemetry SDK before Nest boots, so every span of the service has a provider.
 * The exporter, batch delays and sampler come from the standard OTEL_* variables
 * (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_BSP_*); the sampler is the one OTEL_TRACES_SAMPLER names,
 * made to follow sampled links (see LinkFollowingSampler). Disabled tracing
 * registers nothing: the API's no-op tracer makes every span call free.
 */
export function startTracing(opts: TracingOptions): Tracing {
  if (!opts.enabled) return { enabled: false, shutdown: async () => undefined };
  const sdk = new NodeSDK({
    autoDetectResources: false,
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: opts.service,
      [ATTR_SERVICE_VERSION]: opts.version,
      [ATTR_SERVICE_INSTANCE_ID]: opts.instanceId,
    }),
    sampler: createSampler(opts.sampler, opts.samplerRatio),
    ...(opts.spanProcessors
      ? { spanProcessors: opts.spanProcessors }
      : { traceExporter: new OTLPTraceExporter() }),
    // Metrics are prom-client's (pull); logs go to stdout. The SDK configures neither.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
