import { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { watchHealth } from '@logsplit/common/health/check-health';
import type { Kafka } from 'kafkajs';
import { exited, Infra, produce } from './infra';
import { percentile, ProcSample, sampleProc } from './metrics';
import { SpoolWatch } from './spool-watch';
import type { Workload } from './workload';
import { createTopicsWith, pipelineEnv, TEST_TIMINGS } from '../test/support/pipeline';
import { RunningService, ServiceName, startService } from '../test/support/services';

export interface ServiceStats {
  name: string;
  readyMs: number;
  cpuSeconds: number;
  /** CPU spent until ready (module loading, connecting): paid once per process, not per GB. */
  startupCpuSeconds: number;
  peakRssBytes: number;
}

export interface LogsplitResult {
  name: string;
  compressors: number;
  byAppPartitions: number;
  /** First record produced → last block durable (max manifest appendedAt). */
  durableMs: number;
  /** First record produced → last object uploaded (max index uploadedAt); NaN when not awaited. */
  uploadedMs: number;
  records: number;
  rawBytes: number;
  compressedBytes: number;
  objects: number;
  /** Compressed blocks (gzip members / zstd frames) appended: one durable append each. */
  blocks: number;
  apps: number;
  /** Objects per app per segment-age window, mean over apps with data and max (NaN when uploads were not awaited). */
  filesPerAppWindowMean: number;
  filesPerAppWindowMax: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Share of records whose block was seen on the spool with its appendedAt. */
  latencyCoverage: number;
  services: ServiceStats[];
}

export interface LogsplitRunOptions {
  name: string;
  infra: Infra;
  dist: string;
  workload: Workload;
  compressors: number;
  rawPartitions: number;
  byAppPartitions: number;
  codec: 'gzip' | 'zstd';
  level: number;
  segmentAgeMs: number;
  dir: string;
  /** Extra node flags for every service, e.g. --cpu-prof. */
  nodeFlags: string[];
  timeoutMs: number;
  /** Follow the run until every segment is uploaded (slow: the uploader's pace), or stop at durable. */
  waitUploads: boolean;
  /** Feed at this steady rate instead of all at once (latency at a sustainable load). */
  bytesPerSec?: number;
  /** Registered so main's Ctrl-C handler can stop what is running. */
  track: (p: ChildProcess) => void;
}

interface Running extends RunningService {
  last?: ProcSample;
  readyMs: number;
  startupCpuSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const READY_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 60_000;

/** One logsplit run on private topics, spool and bucket: produce the workload, follow it to the bucket. */
export async function runLogsplit(o: LogsplitRunOptions): Promise<LogsplitResult> {
  mkdirSync(o.dir, { recursive: true });
  const { env, topics, spoolDir, bucketDir } = pipelineEnv(
    {
      LOGSPLIT_CODEC: o.codec,
      LOGSPLIT_CODEC_LEVEL: String(o.level),
      LOGSPLIT_SEGMENT_MAX_AGE_MS: String(o.segmentAgeMs),
      // Several instances on one host: any free port for the health and metrics servers.
      LOGSPLIT_HEALTH_PORT: '0',
      LOGSPLIT_METRICS_PORT: '0',
      LOGSPLIT_TRACING: 'off',
    },
    { dir: o.dir, kafkaBrokers: o.infra.brokers, redisUrl: o.infra.redisUrl },
  );
  for (const name of Object.keys(TEST_TIMINGS)) delete env[name]; // the defaults are measured

  await createTopicsWith(o.infra.kafka, {
    [topics.raw]: o.rawPartitions,
    [topics.byApp]: o.byAppPartitions,
    [topics.dlq]: 1,
    [topics.segments]: 2,
  });
  const services: Running[] = [];
  const watch = new SpoolWatch(spoolDir, join(bucketDir, 'logs', '_index'));
  const sample = () => {
    for (const s of services) s.last = sampleProc(s.proc.pid!) ?? s.last;
  };
  try {
    const start = async (name: ServiceName): Promise<Running> => {
      let spawnedAt = performance.now();
      const s = await startService(name, env, {
        dist: o.dist,
        logDir: o.dir,
        nodeFlags: o.nodeFlags,
        onSpawn: (p) => {
          spawnedAt = performance.now();
          o.track(p);
        },
      });
      // Ready = the first SERVING on its grpc.health.v1 endpoint, as readiness probes see it
      // (the "started" line comes first: SERVING also needs the dependency probes to answer).
      const watch = watchHealth(`127.0.0.1:${s.healthPort}`);
      try {
        await watch.next('SERVING', READY_TIMEOUT_MS);
      } finally {
        watch.cancel();
      }
      const readyMs = performance.now() - spawnedAt;
      return { ...s, readyMs, startupCpuSeconds: sampleProc(s.proc.pid!)?.cpuSeconds ?? NaN };
    };
    services.push(await start('splitter'));
    for (let i = 0; i < o.compressors; i++) services.push(await start('compressor'));
    services.push(await start('uploader'));
    // Ready services may still be joining their groups: measure work, not the last rebalance.
    await groupsStable(o.infra.kafka, {
      [env.LOGSPLIT_SPLITTER_GROUP]: 1,
      [env.LOGSPLIT_COMPRESSOR_GROUP]: o.compressors,
      [env.LOGSPLIT_UPLOADER_GROUP]: 1,
    });

    const t0 = Date.now();
    const producer = produce(o.infra.brokers, topics.raw, o.workload.file, o.bytesPerSec);
    o.track(producer);
    const deadline = t0 + o.timeoutMs;
    const waitUntil = async (what: string, done: () => boolean) => {
      for (;;) {
        await watch.poll();
        sample();
        if (done()) return;
        if (Date.now() > deadline) throw new Error(`${o.name}: timed out waiting for ${what}`);
        for (const s of services) {
          if (s.proc.exitCode !== null) throw new Error(`${s.id} exited with ${s.proc.exitCode}`);
        }
        await sleep(1000);
      }
    };
    const n = o.workload.records;
    await waitUntil('every record durable', () => watch.durableRecords >= n);
    if ((await exited(producer)) !== 0) throw new Error('kcat producer failed');
    if (o.waitUploads) await waitUntil('every record uploaded', () => watch.uploadedRecords >= n);
    sample();

    const blocks = [...watch.blocks.values()];
    const objects = [...watch.objects.values()];
    let durableAt = 0;
    const latency: { value: number; weight: number }[] = [];
    let covered = 0;
    for (const b of blocks) {
      if (b.appendedAt === undefined) continue;
      durableAt = Math.max(durableAt, b.appendedAt);
      covered += b.records;
      // A block's records were produced between minTime and maxTime: spread it over 4 points.
      for (let k = 0; k < 4; k++) {
        const t = b.minTime + ((b.maxTime - b.minTime) * (k + 0.5)) / 4;
        latency.push({ value: b.appendedAt - t, weight: b.records / 4 });
      }
    }
    let blockRaw = 0;
    let blockBytes = 0;
    for (const b of blocks) {
      if (b.rawBytes === undefined) continue;
      blockRaw += b.rawBytes;
      blockBytes += b.length;
    }
    const perApp = new Map<string, number>();
    for (const ob of objects) perApp.set(ob.app, (perApp.get(ob.app) ?? 0) + 1);
    const windows = Math.max(1, Math.ceil((durableAt - t0) / o.segmentAgeMs));
    const counts = [...perApp.values()];
    return {
      name: o.name,
      compressors: o.compressors,
      byAppPartitions: o.byAppPartitions,
      durableMs: durableAt - t0,
      uploadedMs: o.waitUploads ? Math.max(...objects.map((ob) => ob.uploadedAt)) - t0 : NaN,
      records: watch.durableRecords,
      rawBytes: o.waitUploads ? objects.reduce((s, ob) => s + ob.rawBytes, 0) : blockRaw,
      compressedBytes: o.waitUploads ? objects.reduce((s, ob) => s + ob.bytes, 0) : blockBytes,
      objects: objects.length,
      blocks: blocks.length,
      apps: perApp.size,
      filesPerAppWindowMean: o.waitUploads
        ? counts.reduce((a, b) => a + b, 0) / counts.length / windows
        : NaN,
      filesPerAppWindowMax: o.waitUploads ? Math.max(...counts) / windows : NaN,
      latencyP50Ms: percentile(latency, 0.5),
      latencyP99Ms: percentile(latency, 0.99),
      latencyCoverage: covered / n,
      services: services.map((s) => ({
        name: s.id,
        readyMs: s.readyMs,
        cpuSeconds: s.last?.cpuSeconds ?? NaN,
        startupCpuSeconds: s.startupCpuSeconds,
        peakRssBytes: s.last?.peakRssBytes ?? NaN,
      })),
    };
  } finally {
    await Promise.all(services.map((svc) => svc.stop()));
  }
}

/** Waits until every group is Stable (joined and synced) with its expected number of members. */
async function groupsStable(kafka: Kafka, members: Record<string, number>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const { groups } = await admin.describeGroups(Object.keys(members));
      const unsettled = groups.filter(
        (g) => g.state !== 'Stable' || g.members.length !== members[g.groupId],
      );
      if (unsettled.length === 0) return;
      if (Date.now() > deadline) {
        const what = unsettled.map((g) => `${g.groupId} ${g.state} (${g.members.length})`);
        throw new Error(`consumer groups did not settle: ${what.join(', ')}`);
      }
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}
