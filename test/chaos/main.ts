// First, before anything loads kafkajs: the audit reads by-app as a read_committed consumer must,
// which needs the services' fix of kafkajs' aborted-transaction filter (libs/kafkajs-patches).
import '@logsplit/kafkajs-patches/install';
import { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ChaosInfra, ownInfra, REPO } from './infra';
import { formatReport, verdictProblems } from './report';
import { runChaos } from './run-chaos';

const USAGE = `scripts/chaos [options]   (docs/chaos.md)
  --long              the full form: 500,000 records over 500 apps, 25 kills, 10 min of traffic
  --records N         records to produce (default 100000; --long 500000)
  --apps N            apps, Zipf-distributed (default 200; --long 500)
  --kills N           random SIGKILLs (default 6; --long 25)
  --crash-points N    replacements armed with LOGSPLIT_CRASH_AT (default 2; --long 8)
  --instances N       instances of each service (default 2)
  --produce-s N       seconds the producer spreads the records over (default 60; --long 600)
  --store-faults R    share of object-store requests that fail (default 0.1)
  --broker-stop       stop the broker cleanly instead of SIGKILLing it
  --seed N            seed of the workload, the plan and the store faults (default: random)
  --keep              keep the work dir (broker data, spool, mirrored archives) on success
  --dist DIR          the build to run (set by scripts/chaos)`;

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      long: { type: 'boolean', default: false },
      records: { type: 'string' },
      apps: { type: 'string' },
      kills: { type: 'string' },
      'crash-points': { type: 'string' },
      instances: { type: 'string', default: '2' },
      'produce-s': { type: 'string' },
      'store-faults': { type: 'string', default: '0.1' },
      'broker-stop': { type: 'boolean', default: false },
      seed: { type: 'string' },
      keep: { type: 'boolean', default: false },
      dist: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const long = v.long;
  const num = (name: string, value: string | undefined, fallback: number, min: number) => {
    const x = value === undefined ? fallback : Number(value);
    if (!Number.isFinite(x) || x < min)
      throw new Error(`--${name}: a number >= ${min}, got ${value}`);
    return x;
  };
  const seed = num('seed', v.seed, Math.floor(Math.random() * 2 ** 31), 0);
  const repo = process.env.LOGSPLIT_REPO ?? REPO;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const workDir = join(repo, '.cache', 'chaos', stamp);
  mkdirSync(workDir, { recursive: true });

  // A run that failed (or crashed) keeps everything, broker data included, for a post-mortem.
  let failed = true;
  const children = new Set<ChildProcess>();
  let infra: ChaosInfra | undefined;
  const cleanup = async () => {
    for (const c of children) c.kill('SIGKILL');
    await infra?.stop({ keepData: failed || v.keep });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nchaos: ${sig}, stopping services, broker and Redis\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const say = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
  say(`work dir ${workDir} (service logs in logs/), seed ${seed}`);
  try {
    infra = await ownInfra(workDir);
    say(`broker ${infra.brokers}, redis ${infra.redisUrl}`);
    const report = await runChaos(
      {
        records: num('records', v.records, long ? 500_000 : 100_000, 1),
        apps: num('apps', v.apps, long ? 500 : 200, 1),
        kills: num('kills', v.kills, long ? 25 : 6, 0),
        crashPoints: num('crash-points', v['crash-points'], long ? 8 : 2, 0),
        seed,
        instances: num('instances', v.instances, 2, 1),
        produceMs: num('produce-s', v['produce-s'], long ? 600 : 60, 1) * 1000,
        storeFaultRate: num('store-faults', v['store-faults'], 0.1, 0),
        kafkaKill: !v['broker-stop'],
        drainTimeoutMs: long ? 900_000 : 300_000,
        partitions: 6,
        workDir,
        logDir: join(workDir, 'logs'),
        dist: v.dist ? resolve(v.dist) : undefined,
        say,
        onSpawn: (p) => {
          children.add(p);
          p.once('exit', () => children.delete(p));
        },
      },
      infra,
    );
    writeFileSync(join(workDir, 'report.json'), JSON.stringify(report, null, 2));
    process.stdout.write(`${formatReport(report)}\nreport: ${join(workDir, 'report.json')}\n`);
    failed = verdictProblems(report).length > 0;
    return failed ? 1 : 0;
  } finally {
    await cleanup();
    if (!failed && !v.keep) {
      // Keep the summary and the logs; the spool and the copy of the archives are bulky.
      for (const d of ['bucket-mirror', 'spool'])
        rmSync(join(workDir, d), { recursive: true, force: true });
    }
  }
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(
      `chaos failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 2;
  },
);
