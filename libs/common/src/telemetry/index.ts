export * from './app-labels';
export * from './metrics';
export * from './metrics-server';
// Only the type: the sampler needs the SDK, which loads only when tracing is on (tracing.ts).
export type { SamplerName } from './sampler';
export * from './span-names';
export * from './spans';
export * from './trace-context';
export * from './trace-logger';
export * from './tracing';
