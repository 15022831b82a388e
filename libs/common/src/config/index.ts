export * from './config';
export * from './config-error';
export { envSchema } from './env-schema';
export * from './secrets';
export * from './kafka-security';
export * from './redis-settings';
export * from './oss-settings';
