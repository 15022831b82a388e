export * from './common.module';
export * from './kafka-producer.service';
export * from './run-service';
export * from './tokens';
