// First: kafkajs patched as the services run it (libs/kafkajs-patches).
import '@logsplit/kafkajs-patches/install';
import { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createTopicsWith } from '../test/support/pipeline';
import { startInfra, type Infra } from './infra';
import { runLimit } from './limit-pipeline';
import { chart, markdown, summary, type BenchReport } from './report';
import { runLogsplit, type LogsplitResult } from './run-logsplit';
import { samplesDir, writeWorkload } from './workload';

const USAGE = `npm run bench -- [options]
  --mb N               raw workload size in MB (default 40; --quick: 10)
  --apps N             apps, Zipf-distributed (default 1000)
  --codec gzip|zstd    codec of both pipelines (default gzip)
  --level N            codec level (default 6 for gzip, 3 for zstd)
  --quick              smoke run: small workload, 1 and 4 compressors only
  --scaling LIST       compressor runs as instances/by-app-partitions (default 1/6,2/6,4/6,4/2,1/1; the first is followed to the bucket)
  --baseline-dist DIR  also run another build (e.g. before an optimisation) on the same data,
                       alternating with this build (1 compressor, 6 partitions, to durable)
  --baseline-repeat N  before/after pairs (default 1)
  --segment-age-ms N   LOGSPLIT_SEGMENT_MAX_AGE_MS of the runs (default 30000)
  --steady-mbps N      last, a run fed at this steady rate for latency at a sustainable load
                       (default: half the first run's raw MB/s; 0 = no such run)
  --all-uploads        follow every run to the bucket, not only the first (slow)
  --cpu-prof           write V8 CPU profiles of every service into the results folder
  --keep               keep the work dir (broker data, spool, bucket)
  --report FILE        only render report.md and the chart again from a saved report.json
  --dist DIR           the build to run (set by bench/run)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string' },
      apps: { type: 'string', default: '1000' },
      codec: { type: 'string', default: 'gzip' },
      level: { type: 'string' },
      quick: { type: 'boolean', default: false },
      scaling: { type: 'string' },
      'baseline-dist': { type: 'string' },
      'segment-age-ms': { type: 'string', default: '30000' },
      'steady-mbps': { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'all-uploads': { type: 'boolean', default: false },
      'baseline-repeat': { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
      dist: { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (values.report) {
    const saved = JSON.parse(readFileSync(values.report, 'utf8')) as BenchReport;
    render(saved, dirname(resolve(values.report)));
    return;
  }
  const repo = process.env.LOGSPLIT_REPO ?? process.cwd();
  const dist = resolve(values.dist ?? join(repo, 'dist'));
  const codec = values.codec === 'zstd' ? 'zstd' : 'gzip';
  if (values.codec !== codec) throw new Error(`--codec: gzip or zstd, not ${values.codec}`);
  const level = Number(values.level ?? (codec === 'gzip' ? 6 : 3));
  const mb = Number(values.mb ?? (values.quick ? 10 : 40));
  const scaling = (values.scaling ?? (values.quick ? '1/6,4/2' : '1/6,2/6,4/6,4/2,1/1'))
    .split(',')
    .map((s) => s.split('/').map(Number) as [number, number]);
  const segmentAgeMs = Number(values['segment-age-ms']);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const results = join(repo, 'bench', 'results', stamp);
  mkdirSync(results, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'logsplit-bench-'));
  const children = new Set<ChildProcess>();
  const track = (p: ChildProcess) => {
    children.add(p);
    p.once('exit', () => children.delete(p));
  };
  let infra: Infra | undefined;
  const cleanup = async () => {
    for (const c of children) c.kill('SIGKILL');
    await infra?.stop();
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const say = (s: string) => process.stderr.write(`[bench] ${s}\n`);

  try {
    say(`work dir ${work}; results ${results}`);
    const workload = await writeWorkload(
      join(work, 'workload.jsonl'),
      mb,
      Number(values.apps),
      samplesDir(repo),
    );
    say(`workload: ${workload.records} records, ${(workload.rawBytes / 1e6).toFixed(1)} MB`);
    infra = await startInfra(repo, work);
    say(`broker ${infra.brokers}, redis ${infra.redisUrl}`);

    const limitTopic = 'bench-limit-raw';
    await createTopicsWith(infra.kafka, { [limitTopic]: 6 });
    say('limit pipeline (kcat → mawk → CLI) …');
    const limit = await runLimit({
      brokers: infra.brokers,
      topic: limitTopic,
      workload,
      codec,
      level,
      dir: join(work, 'limit'),
    });
    say(`limit: ${(limit.wallMs / 1000).toFixed(1)} s`);

    const runs: LogsplitResult[] = [];
    const plans: {
      name: string;
      dist: string;
      compressors: number;
      partitions: number;
      waitUploads: boolean;
      steady?: boolean;
    }[] = [];
    // The first configuration is followed to the bucket; the others (scaling, baseline) stop
    // once every block is durable, as uploading thousands of small segments takes minutes.
    scaling.forEach(([compressors, partitions], i) =>
      plans.push({
        name: `logsplit ${compressors}c/${partitions}p`,
        dist,
        compressors,
        partitions,
        waitUploads: i === 0 || Boolean(values['all-uploads']),
      }),
    );
    // Before/after pairs right after the main run, alternating, both stopping at durable, so
    // they meet the machine in the same state.
    const baseline = values['baseline-dist'];
    if (baseline) {
      const pairs = Array.from({ length: Number(values['baseline-repeat']) }, (_, k) => [
        { name: `before #${k + 1}`, dist: resolve(baseline) },
        { name: `after #${k + 1}`, dist },
      ]).flat();
      plans.splice(
        1,
        0,
        ...pairs.map((p) => ({
          name: `logsplit ${p.name}`,
          dist: p.dist,
          compressors: 1,
          partitions: 6,
          waitUploads: false,
        })),
      );
    }
    const steadyMbps =
      values['steady-mbps'] === undefined ? undefined : Number(values['steady-mbps']);
    if (steadyMbps !== 0) {
      plans.push({
        name: 'logsplit 1c/6p steady',
        dist,
        compressors: 1,
        partitions: 6,
        waitUploads: false,
        steady: true,
      });
    }
    for (const plan of plans) {
      // Half the burst's throughput: a load the pipeline sustains, so latency is not queueing.
      const bytesPerSec = plan.steady
        ? (steadyMbps ?? runs[0].rawBytes / 1e6 / (runs[0].durableMs / 1000) / 2) * 1e6
        : undefined;
      if (plan.steady) plan.name = `logsplit 1c/6p at ${(bytesPerSec! / 1e6).toFixed(2)} MB/s`;
      say(`${plan.name} …`);
      const dir = join(work, plan.name.replace(/[^a-z0-9]+/gi, '-'));
      const profDir = join(results, 'cpu-prof', plan.name.replace(/[^a-z0-9]+/gi, '-'));
      const r = await runLogsplit({
        name: plan.name,
        infra,
        dist: plan.dist,
        workload,
        compressors: plan.compressors,
        rawPartitions: 6,
        byAppPartitions: plan.partitions,
        codec,
        level,
        segmentAgeMs,
        dir,
        nodeFlags: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
        timeoutMs: 30 * 60_000,
        waitUploads: plan.waitUploads,
        bytesPerSec,
        track,
      });
      say(
        `${plan.name}: durable ${(r.durableMs / 1000).toFixed(1)} s` +
          (plan.waitUploads ? `, uploaded ${(r.uploadedMs / 1000).toFixed(1)} s` : ''),
      );
      runs.push(r);
      rmSync(dir, { recursive: true, force: true });
    }

    const report: BenchReport = {
      startedAt: new Date().toISOString(),
      host: `${hostname()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
      workload: { ...workload, file: '' },
      codec,
      level,
      segmentAgeMs,
      limit,
      runs,
    };
    writeFileSync(join(results, 'report.json'), JSON.stringify(report, null, 2));
    const md = markdown(report);
    const png = chart(report, results);
    writeFileSync(
      join(results, 'report.md'),
      md + (png ? `\n![throughput](throughput.png)\n` : ''),
    );
    process.stdout.write(md + '\n');
    process.stdout.write(`results: ${results}\n\n${summary(report)}\n`);
  } finally {
    await cleanup();
  }
}

/** report.md + throughput.png into `dir`; the tables, then the summary, on stdout. */
function render(report: BenchReport, dir: string): void {
  const md = markdown(report);
  const png = chart(report, dir);
  writeFileSync(join(dir, 'report.md'), md + (png ? `\n![throughput](throughput.png)\n` : ''));
  process.stdout.write(md + '\n');
  process.stdout.write(`results: ${dir}\n\n${summary(report)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
