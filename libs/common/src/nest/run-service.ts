import { ConsoleLogger, DynamicModule, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Kafka } from 'kafkajs';
import { ConfigError, loadConfig, LogsplitConfig } from '../config';
import { createKafka, ensureTopics, KafkaBatchServer } from '../kafka';

export interface ServiceDefinition {
  name: string;
  module: (config: LogsplitConfig, kafka: Kafka) => DynamicModule;
  groupId: (config: LogsplitConfig) => string;
  /** Topic → @EventPattern name. */
  routes: (config: LogsplitConfig) => Record<string, string>;
  partitionsConsumedConcurrently?: number;
}

/**
 * Starts one logsplit service: validated config, JSON logs, the batch-consuming Kafka transport,
 * and shutdown hooks so SIGTERM stops fetching and disconnects cleanly.
 */
export async function runService(def: ServiceDefinition): Promise<void> {
  const logger = new ConsoleLogger({ json: true, context: def.name });
  let config: LogsplitConfig;
  try {
    config = loadConfig(def.name);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`logsplit ${def.name}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  logger.setLogLevels(levelsFrom(config.logLevel));
  const kafka = createKafka(config.kafka);
  const server = new KafkaBatchServer({
    kafka,
    groupId: def.groupId(config),
    routes: def.routes(config),
    partitionsConsumedConcurrently: def.partitionsConsumedConcurrently,
    beforeConsume: () => ensureTopics(kafka, config.topics),
  });
  const app = await NestFactory.createMicroservice(def.module(config, kafka), {
    strategy: server,
    logger,
  });
  app.enableShutdownHooks();
  await app.listen();
  new Logger(def.name).log(`${def.name} ${config.instanceId} started`);
}

function levelsFrom(level: LogsplitConfig['logLevel']) {
  const all = ['debug', 'log', 'warn', 'error', 'fatal'] as const;
  const from = { debug: 0, info: 1, warn: 2, error: 3 }[level];
  return all.slice(from);
}
