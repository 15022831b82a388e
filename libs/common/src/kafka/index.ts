export * from './kafka-batch';
export * from './kafka-batch.server';
export * from './kafka-client';
export * from './producer';
export * from './topics';
export * from './backpressure-error';
export * from './partition-assignment';
