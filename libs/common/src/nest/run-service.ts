import { DynamicModule, INestMicroservice, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Kafka } from 'kafkajs';
import { ConfigError, loadConfig, LogsplitConfig } from '../config';
import {
  HealthComponent,
  HealthMonitor,
  HealthState,
  kafkaProbe,
  redisProbe,
  startHealthServer,
  storeProbe,
} from '../health';
import {
  createKafka,
  describeError,
  describeKafkaFailure,
  isKafkaError,
  KafkaBatchServer,
  KafkaFailureContext,
  KafkaProblems,
  PartitionAssignment,
  TopicReadiness,
} from '../kafka';
import { backoffDelay, sleep } from '../util/backoff';
import { StorageDriver } from '../storage';
import { Metrics, startMetricsServer, startTracing, TraceLogger } from '../telemetry';
import { requireKafkajsPatches } from './kafkajs-patch-check';
import { RethrowFilter } from './rethrow.filter';
import { REDIS, STORAGE } from './tokens';
import type Redis from 'ioredis';
// Compiled along (resolveJsonModule), so the version travels with any build output directory.
import packageJson from '../../../../package.json';

/** What runService creates before Nest boots and hands to the service's module. */
export interface ServiceRuntime {
  metrics: Metrics;
  health: HealthState;
  /** The partitions the service's consumer owns, kept current by the transport. */
  assignment: PartitionAssignment;
  /** Work the transport runs on shutdown before it leaves the group (see KafkaBatchServer). */
  drainers: ((stop: () => boolean) => Promise<void>)[];
}

export interface ServiceDefinition {
  name: string;
  module: (config: LogsplitConfig, kafka: Kafka, runtime: ServiceRuntime) => DynamicModule;
  groupId: (config: LogsplitConfig) => string;
  /** Topic → @EventPattern name. */
  routes: (config: LogsplitConfig) => Record<string, string>;
  /** The topics it reads or writes, created when missing (default: all of the pipeline's). */
  topics?: (config: LogsplitConfig) => string[];
  partitionsConsumedConcurrently?: number;
  /**
   * `handler`: the service commits consumed offsets itself: in its own Kafka transaction
   * (splitter), or once records kept past their batch are durable (compressor).
   */
  offsetCommit?: 'transport' | 'handler';
  /** Dependencies without which the service cannot do its job (gRPC health components). */
  components: HealthComponent[];
}

const HEALTH_PROBE_INTERVAL_MS = 1_000;
const HEALTH_PROBE_TIMEOUT_MS = 2_000;
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** Handlers are told to give up this long before the shutdown limit, so their finally blocks run. */
const ABANDON_MARGIN_MS = 5_000;

/**
 * Starts one logsplit service: validated config, tracing (before anything else creates spans),
 * JSON logs carrying trace ids, the gRPC health and Prometheus servers, the batch-consuming Kafka
 * transport, and a bounded shutdown path on SIGTERM/SIGINT: health NOT_SERVING at once, fetching
 * and retrying stop, the batch in hand finishes and commits, producers and Redis disconnect, the
 * servers close and buffered spans are exported. Whatever has not finished within
 * LOGSPLIT_SHUTDOWN_TIMEOUT_MS is abandoned uncommitted (its partition's next owner replays it),
 * logged, and the process exits with status 1.
 */
export async function runService(def: ServiceDefinition): Promise<void> {
  const logger = new TraceLogger({ json: true, context: def.name });
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
  Logger.overrideLogger(logger);
  const log = new Logger(def.name);
  const obs = config.observability;
  const tracing = startTracing({
    service: def.name,
    version: packageJson.version,
    instanceId: config.instanceId,
    enabled: obs.tracing,
    sampler: obs.sampler,
    samplerRatio: obs.samplerRatio,
  });

  const runtime: ServiceRuntime = {
    metrics: new Metrics(def.name, obs.appLabelLimit, obs.appLabelAllowList),
    health: new HealthState(def.components),
    assignment: new PartitionAssignment(),
    drainers: [],
  };
  requireKafkajsPatches(runtime.metrics, log);
  const healthServer = await startHealthServer(runtime.health, obs.host, obs.healthPort);
  log.log(`health listening on ${healthServer.host}:${healthServer.port}`);
  const metricsServer = await startMetricsServer(runtime.metrics, obs.host, obs.metricsPort);
  log.log(`metrics listening on http://${metricsServer.host}:${metricsServer.port}/metrics`);

  // Filled in as start-up proceeds; a signal can arrive at any point of it.
  const running: {
    app?: INestMicroservice;
    monitor?: HealthMonitor;
    server?: KafkaBatchServer;
    /** The transport is consuming: its first group join may still be in flight. */
    consuming?: boolean;
    stopping?: boolean;
  } = {};
  const kafkaContext = failureContext(def, config);
  const kafkaProblems = new KafkaProblems((err) => describeKafkaFailure(err, kafkaContext));
  const topicsReady = new TopicReadiness();
  const kafkaHealth = kafkaProbe(config.kafka, kafkaContext, kafkaProblems);
  const shutdown = async (signal: NodeJS.Signals) => {
    for (const s of SIGNALS) process.removeAllListeners(s);
    running.stopping = true;
    runtime.health.shutdown();
    const limitMs = config.shutdownTimeoutMs;
    const t0 = Date.now();
    log.log(`${signal}: shutting down within ${limitMs} ms`);
    const abandon = setTimeout(
      () => {
        log.warn(`shutdown: ${describeInFlight(running.server)} still running, telling it to stop`);
        running.server?.abandon();
      },
      Math.max(limitMs / 2, limitMs - ABANDON_MARGIN_MS),
    );
    const deadline = setTimeout(() => {
      log.error(
        `shutdown did not finish within ${limitMs} ms: exiting, abandoning uncommitted ` +
          `${describeInFlight(running.server)} (replayed by the partitions' next owners)`,
      );
      process.exit(1);
    }, limitMs);
    let clean = true;
    try {
      // No assignment update yet: the first join (or its crash or stop) has not settled.
      if (running.consuming && runtime.assignment.epoch === 0) {
        // Closing now would leave a join in flight that kafkajs no longer tracks: it would
        // complete after the disconnect and fetch. Let it settle, within the time limit.
        log.log('shutdown: letting the group join in progress finish first');
        await new Promise<void>((settled) => {
          const off = runtime.assignment.onChange(() => {
            off();
            settled();
          });
        });
      }
      await running.app?.close();
    } catch (err) {
      clean = false;
      log.error(`shutdown: closing the service failed: ${describeError(err)}`);
    } finally {
      running.monitor?.stop();
      await kafkaHealth.close().catch(() => undefined);
      await healthServer.close();
      await metricsServer.close();
      await tracing.shutdown().catch(() => undefined);
    }
    clearTimeout(abandon);
    clearTimeout(deadline);
    log.log(`shut down in ${Date.now() - t0} ms`);
    if (!clean) process.exit(1);
    process.kill(process.pid, signal);
  };
  for (const s of SIGNALS) process.once(s, (sig: NodeJS.Signals) => void shutdown(sig));

  // A Kafka failure at start-up (wrong password or CA, missing permission, broker down) keeps
  // the process up and NOT_SERVING with the reason, and start-up is retried with backoff: no
  // crash loop, and the service resumes by itself once the setting or ACL is fixed.
  for (let attempt = 0; ; attempt++) {
    try {
      await startOnce(def, config, runtime, running, {
        kafkaProbe: kafkaHealth.probe,
        logger,
        topicsReady,
        stopping: () => !!running.stopping,
        consuming: () => !!running.consuming,
        problems: kafkaProblems,
      });
      kafkaProblems.clear('start-up');
      break;
    } catch (err) {
      if (running.stopping) return; // a signal ended the wait for the topics
      if (!isKafkaError(err)) throw err;
      const reason = kafkaProblems.report('start-up', err);
      runtime.health.set('kafka', false, reason);
      const delay = backoffDelay(attempt, 2_000, 30_000);
      log.warn(`kafka NOT_SERVING: ${reason}; starting again in ${delay} ms`);
      const failed = running.app;
      running.monitor?.stop();
      running.app = running.server = undefined;
      await failed?.close().catch(() => undefined);
      await sleep(delay);
      if (running.stopping) return;
    }
  }
  running.consuming = true;
  log.log(`${def.name} ${config.instanceId} started`);
}

/** One attempt at creating the transport and the Nest app and starting to consume. */
async function startOnce(
  def: ServiceDefinition,
  config: LogsplitConfig,
  runtime: ServiceRuntime,
  running: { app?: INestMicroservice; monitor?: HealthMonitor; server?: KafkaBatchServer },
  deps: {
    kafkaProbe: () => Promise<void>;
    logger: TraceLogger;
    topicsReady: TopicReadiness;
    stopping: () => boolean;
    consuming: () => boolean;
    problems: KafkaProblems;
  },
): Promise<void> {
  const kafka = createKafka(config.kafka);
  const server = new KafkaBatchServer({
    kafka,
    groupId: def.groupId(config),
    routes: def.routes(config),
    partitionsConsumedConcurrently: def.partitionsConsumedConcurrently,
    beforeConsume: () =>
      deps.topicsReady.ensure(kafka, config.topics, def.topics?.(config), deps.stopping),
    assignment: runtime.assignment,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    offsetCommit: def.offsetCommit,
    drain: async (stop) => void (await Promise.all(runtime.drainers.map((d) => d(stop)))),
    metrics: runtime.metrics,
    problems: deps.problems,
  });
  running.server = server;
  const app = await NestFactory.createMicroservice(def.module(config, kafka, runtime), {
    strategy: server,
    logger: deps.logger,
  });
  app.useGlobalFilters(new RethrowFilter());
  running.app = app;
  running.monitor = new HealthMonitor(
    runtime.health,
    {
      // Not serving until consuming; missing topics are the reason while start-up waits for them.
      kafka: async () => {
        await deps.kafkaProbe();
        if (!deps.consuming()) throw new Error(deps.topicsReady.problem ?? 'starting the consumer');
      },
      ...(def.components.includes('redis') && {
        redis: redisProbe(app.get<Redis>(REDIS), config.redis),
      }),
      ...(def.components.includes('store') && {
        store: storeProbe(app.get<StorageDriver>(STORAGE), config.store.prefix),
      }),
    },
    { intervalMs: HEALTH_PROBE_INTERVAL_MS, timeoutMs: HEALTH_PROBE_TIMEOUT_MS },
  );
  running.monitor.start();
  // Resolves once the consumer is subscribed and running, before it has joined its group.
  await app.listen();
}

/** What the service's clients do, so an authorization failure names the permission. */
function failureContext(def: ServiceDefinition, config: LogsplitConfig): KafkaFailureContext {
  const reads = Object.keys(def.routes(config));
  const t = config.topics;
  return {
    brokers: config.kafka.brokers,
    security: config.kafka.security,
    readTopics: reads,
    writeTopics: [t.byApp, t.dlq, t.segments].filter((x) => !reads.includes(x)),
    group: def.groupId(config),
  };
}

function describeInFlight(server: KafkaBatchServer | undefined): string {
  const batches = server?.batchesInFlight() ?? [];
  if (batches.length === 0) return 'no batch';
  const now = Date.now();
  return batches
    .map(
      (b) =>
        `${b.topic}[${b.partition}]@${b.firstOffset}..${b.lastOffset} (${b.records} records, ${now - b.sinceMs} ms)`,
    )
    .join(', ');
}

function levelsFrom(level: LogsplitConfig['logLevel']) {
  const all = ['debug', 'log', 'warn', 'error', 'fatal'] as const;
  const from = { debug: 0, info: 1, warn: 2, error: 3 }[level];
  return all.slice(from);
}
