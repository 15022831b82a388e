// First: kafkajs' read_committed filter is replaced before kafkajs loads (kafka/read-committed.ts).
import './kafka/read-committed.install';
export * from './app-id';
export * from './archive';
export * from './chunk';
export * from './codec';
export * from './config';
export * from './fault';
export * from './kafka';
export * from './nest';
export * from './redis';
export * from './storage';
export * from './spool';
export * from './util';
export * from './health';
export * from './telemetry';
export * from './events';
