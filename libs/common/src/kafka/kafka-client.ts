import { Logger } from '@nestjs/common';
import { Kafka, logLevel, LogEntry } from 'kafkajs';
import { KafkaConfig } from '../config';
import { kafkaSecurityOptions } from './client-security';

const LEVELS: Record<number, 'error' | 'warn' | 'log' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'log',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs' own logs go through Nest's logger so every line of a service has one format. */
function logCreator() {
  const logger = new Logger('kafkajs');
  return ({ level, log }: LogEntry) => {
    const { message, ...extra } = log;
    const method = LEVELS[level] ?? 'log';
    logger[method](`${message} ${JSON.stringify(extra)}`);
  };
}

export function createKafka(config: KafkaConfig): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    ...kafkaSecurityOptions(config.security),
    logLevel: logLevel.WARN,
    logCreator,
    connectionTimeout: 5_000,
    // Keep retrying through broker restarts; the service stays up and resumes by itself.
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 12 },
  });
}
