export * from './check-health';
export * from './dependency-probes';
export * from './health-monitor';
export * from './health-server';
export * from './health-state';
