import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { createSampler } from './sampler';
import type { Tracing, TracingOptions } from './tracing';

/** service.instance.id: stable name of the resource attribute (still "incubating" in semconv). */
const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id';

/**
 * The OpenTelemetry SDK with the OTLP exporter and logsplit's sampler. Loaded only when tracing
 * is on (see startTracing): these packages cost a third of a service's start-up CPU.
 */
export function startSdk(opts: TracingOptions): Tracing {
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
