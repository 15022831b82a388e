import { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaSecurityOptions, loadKafkaSecurity } from '@logsplit/common';
import { CRASH_POINTS } from '@logsplit/common/fault';
import { InjectedFault, OssTestServer } from '@logsplit/testing';
import { mulberry32 } from '@logsplit/common/util';
import { createTopicsWith, pipelineEnv, spoolSegments } from '../support/pipeline';
import { PeakMemory } from '../support/proc-memory';
import { ServiceName } from '../support/services';
import { audit, AuditResult } from './audit';
import { IndexedRecords, mirrorBucket } from '../support/oss-bucket';
import { Fleet, SERVICES, UnplannedExit } from './fleet';
import { ChaosInfra } from './infra';
import { addChunkMessage, addRawMessage, Ledger } from './ledger';
import { ChaosEvent, chaosPlan } from './plan';
import { produceWorkload, ProduceStats } from './producer';
import { chaosWorkload } from './records';
import { scanTopic } from './topic-scan';

export interface ChaosOptions {
  records: number;
  apps: number;
  /** Random SIGKILLs of a random instance of a random service. */
  kills: number;
  /** Replacements started with LOGSPLIT_CRASH_AT, to die at a chosen worst moment. */
  crashPoints: number;
  seed: number;
  /** Instances of each service. */
  instances: number;
  /** The producer spreads the records over this long; chaos lasts a little longer. */
  produceMs: number;
  /** Share of object-store requests that fail (errors, resets, hangs). */
  storeFaultRate: number;
  /** SIGKILL the broker instead of a clean stop. */
  kafkaKill: boolean;
  /** How long the pipeline may take to archive everything after the chaos ends. */
  drainTimeoutMs: number;
  partitions: number;
  workDir: string;
  /** Where service logs go (the e2e suite's .cache/test-logs/ or the run's own folder). */
  logDir?: string;
  dist?: string;
  say: (line: string) => void;
  onSpawn?: (proc: ChildProcess) => void;
}

export interface ChaosReport {
  options: Omit<ChaosOptions, 'say' | 'onSpawn'>;
  plan: ChaosEvent[];
  timeline: string[];
  kills: Record<ServiceName, number>;
  unplannedExits: UnplannedExit[];
  restarts: { kafka: number; redis: number; kafkaDownMs: number; redisDownMs: number };
  store: { requests: number; injectedFaults: number; byFault: Record<string, number> };
  produce: ProduceStats;
  drained: boolean;
  audit: AuditResult;
  peakRss: { service: string; instance: string; peakRssBytes: number }[];
  logs: { instance: string; service: ServiceName; logFile: string }[];
  durationMs: number;
  phasesMs: { start: number; chaos: number; drain: number; audit: number };
  bucketDir: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const STORE_FAULTS: InjectedFault[] = [500, 503, 'reset', 'hang'];

/**
 * One chaos run: real service processes on a real broker and Redis, a producer writing the
 * workload, and, while it writes, random SIGKILLs, a broker restart, a Redis restart and a
 * failing object store. Then it waits for the archive to settle and audits it record by record.
 * Throws only when the run itself cannot happen; what the audit finds is in the report.
 */
export async function runChaos(o: ChaosOptions, infra: ChaosInfra): Promise<ChaosReport> {
  const t0 = Date.now();
  const timeline: string[] = [];
  const say = (line: string) => {
    const stamped = `+${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s ${line}`;
    timeline.push(stamped);
    o.say(stamped);
  };
  mkdirSync(o.workDir, { recursive: true });
  const oss = await OssTestServer.start();
  const memory = new PeakMemory();
  const p = pipelineEnv(
    {
      ...oss.env(),
      // A hung store request must end soon enough for the run to make progress.
      OSS_TIMEOUT_MS: '3000',
      LOGSPLIT_SEGMENT_MAX_AGE_MS: '15000',
      LOGSPLIT_SEGMENT_MAX_BYTES: String(1024 * 1024),
      LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
      LOGSPLIT_LOCK_TTL_MS: '10000',
      LOGSPLIT_TRACING: 'off',
    },
    { dir: o.workDir, kafkaBrokers: infra.brokers, redisUrl: infra.redisUrl },
  );
  const kafka = new Kafka({
    clientId: 'logsplit-chaos',
    brokers: infra.brokers.split(','),
    ...kafkaSecurityOptions(loadKafkaSecurity()),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 30 },
  });
  const workload = chaosWorkload(o.records, o.apps, o.seed);
  const plan = chaosPlan({
    seed: o.seed,
    kills: o.kills,
    startMs: 3000,
    endMs: Math.round(o.produceMs * 1.15),
    kafkaKill: o.kafkaKill,
  });
  const rand = mulberry32(o.seed ^ 0xc4a05);
  let crashBudget = o.crashPoints;
  const fleet = new Fleet({
    env: p.env,
    dist: o.dist,
    logDir: o.logDir,
    memory,
    say,
    onSpawn: o.onSpawn,
    armReplacement: (service): Record<string, string> => {
      const points = CRASH_POINTS.filter((c) => c.startsWith(`${service}.`));
      if (crashBudget <= 0 || points.length === 0 || rand() < 0.5) return {};
      crashBudget--;
      const point = points[Math.floor(rand() * points.length)];
      return { LOGSPLIT_CRASH_AT: `${point}:${1 + Math.floor(rand() * 3)}` };
    },
  });
  const restarts = { kafka: 0, redis: 0, kafkaDownMs: 0, redisDownMs: 0 };
  const sampler = setInterval(() => fleet.sampleMemory(), 1000);
  let stopped = false;
  const phasesMs = { start: 0, chaos: 0, drain: 0, audit: 0 };
  try {
    await createTopicsWith(kafka, {
      [p.topics.raw]: o.partitions,
      [p.topics.byApp]: o.partitions,
      [p.topics.dlq]: 1,
      [p.topics.segments]: 2,
    });
    say(`topics ${p.topics.raw} → ${p.topics.byApp}; store ${oss.endpoint}; spool ${p.spoolDir}`);
    await Promise.all(
      SERVICES.flatMap((service) =>
        Array.from({ length: o.instances }, () => fleet.launch(service, 'initial', 3)),
      ),
    );
    phasesMs.start = Date.now() - t0;
    say(`${o.instances} × ${SERVICES.join(', ')} started`);
    oss.failRandomly({ rate: o.storeFaultRate, faults: STORE_FAULTS, seed: o.seed });

    const chaosStart = Date.now();
    const producing = produceWorkload({
      kafka,
      topic: p.topics.raw,
      workload,
      durationMs: o.produceMs,
      onRetry: (err) => say(`producer: send failed, retrying: ${firstLine(err)}`),
      aborted: () => stopped,
    }).then((stats) => {
      say(
        `producer done: ${stats.acked} records acknowledged, ${stats.retriedSends} sends retried`,
      );
      return stats;
    });
    const indexed = new IndexedRecords(oss, p.prefix);
    const progress = setInterval(() => {
      const spool = spoolSegments(p.spoolDir).length;
      say(`progress: ${indexed.count()} records indexed, ${spool} segments on the spool`);
    }, 15_000);
    let produce: ProduceStats;
    let drained: boolean;
    try {
      // Kills keep their moments while an outage lasts; the two outages never overlap.
      let outage: Promise<void> = Promise.resolve();
      const pending: Promise<void>[] = [];
      for (const ev of plan) {
        const wait = chaosStart + ev.atMs - Date.now();
        if (wait > 0) await sleep(wait);
        if (ev.kind === 'kill') pending.push(perform(ev));
        else pending.push((outage = outage.then(() => perform(ev))));
      }
      await Promise.all(pending);
      produce = await producing;
      await fleet.settle();
      phasesMs.chaos = Date.now() - chaosStart;
      say(`chaos over: kills ${describeKills(fleet.kills)}; waiting for the archive`);

      const drainStart = Date.now();
      drained = await waitDrained(produce.acked, indexed, p.spoolDir, o.drainTimeoutMs);
      phasesMs.drain = Date.now() - drainStart;
      say(
        drained
          ? `drained: ${indexed.count()} records indexed, spool empty`
          : `NOT drained after ${o.drainTimeoutMs} ms: ${indexed.count()} of ${produce.acked} records indexed, ` +
              `${spoolSegments(p.spoolDir).length} segments left on the spool`,
      );
    } finally {
      clearInterval(progress);
      stopped = true;
    }

    const auditStart = Date.now();
    await fleet.stopAll();
    oss.failRandomly(undefined);
    say(`services stopped (SIGTERM) in ${secs(Date.now() - auditStart)}`);
    const bucketDir = join(o.workDir, 'bucket-mirror');
    const objects = mirrorBucket(oss, bucketDir);
    const raw = new Ledger(workload);
    const byApp = new Ledger(workload);
    const scanStart = Date.now();
    await Promise.all([
      scanTopic(kafka, p.topics.raw, (m, partition) => addRawMessage(raw, m, partition)),
      scanTopic(kafka, p.topics.byApp, (m, partition) => addChunkMessage(byApp, m, partition)),
    ]);
    say(`raw and by-app topics read back in ${secs(Date.now() - scanStart)}`);
    const decodeStart = Date.now();
    const result = audit({
      workload,
      produced: produce.acked,
      raw,
      byApp,
      bucketDir,
      prefix: p.prefix,
      spoolLeft: spoolSegments(p.spoolDir),
    });
    phasesMs.audit = Date.now() - auditStart;
    say(
      `audit: ${objects} objects, ${result.archives} archives decoded in ${secs(Date.now() - decodeStart)}`,
    );
    const byFault: Record<string, number> = {};
    for (const r of oss.requests) {
      if (r.fault !== undefined) byFault[String(r.fault)] = (byFault[String(r.fault)] ?? 0) + 1;
    }
    const { say: _say, onSpawn: _onSpawn, ...options } = o;
    return {
      options,
      plan,
      timeline,
      kills: Object.fromEntries(fleet.kills) as Record<ServiceName, number>,
      unplannedExits: fleet.unplannedExits,
      restarts,
      store: { requests: oss.requests.length, injectedFaults: oss.injectedFaults(), byFault },
      produce,
      drained,
      audit: result,
      peakRss: [...memory.perService()].map(([service, v]) => ({ service, ...v })),
      logs: fleet.logs,
      durationMs: Date.now() - t0,
      phasesMs,
      bucketDir,
    };
  } finally {
    stopped = true;
    clearInterval(sampler);
    await fleet.stopAll();
    await oss.close();
  }

  async function perform(ev: ChaosEvent): Promise<void> {
    if (ev.kind === 'kill') {
      // The planned service may have no live instance (both just died): take another one.
      const order = [ev.service, ...SERVICES.filter((s) => s !== ev.service)];
      for (const service of order) {
        const victim = await fleet.kill(service, ev.pick, ev.restartDelayMs);
        if (victim) return say(`SIGKILL ${victim}`);
      }
      return say(`kill skipped: no live instance at all`);
    }
    const t = Date.now();
    try {
      if (ev.kind === 'kafka') {
        say(`broker: ${ev.kill ? 'SIGKILL' : 'stop'} and restart`);
        await infra.restartKafka({ kill: ev.kill, downMs: ev.downMs });
        restarts.kafka++;
        restarts.kafkaDownMs = Date.now() - t;
        say(`broker back after ${((Date.now() - t) / 1000).toFixed(1)} s`);
      } else {
        say('redis: stop and restart (empty)');
        await infra.restartRedis({ downMs: ev.downMs });
        restarts.redis++;
        restarts.redisDownMs = Date.now() - t;
        say(`redis back after ${((Date.now() - t) / 1000).toFixed(1)} s`);
      }
    } catch (err) {
      say(`${ev.kind} restart FAILED: ${firstLine(err)}`);
      throw err;
    }
  }
}

/** Everything indexed and nothing left on the spool, stable over two checks a few seconds apart. */
async function waitDrained(
  expected: number,
  indexed: IndexedRecords,
  spoolDir: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  while (Date.now() < deadline) {
    const done = indexed.count() >= expected && spoolSegments(spoolDir).length === 0;
    calm = done ? calm + 1 : 0;
    // Late duplicates (a replay after the last upload) get a few seconds to show up.
    if (calm >= 5) return true;
    await sleep(1000);
  }
  return false;
}

export function describeKills(kills: Map<ServiceName, number> | Record<string, number>): string {
  const entries = kills instanceof Map ? [...kills] : Object.entries(kills);
  const total = entries.reduce((n, [, k]) => n + k, 0);
  return `${entries.map(([s, k]) => `${s} ${k}`).join(', ')} (${total} in all)`;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
