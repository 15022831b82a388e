import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exited, produce } from './infra';
import type { Workload } from './workload';

export interface LimitResult {
  name: string;
  /** First record produced → last per-app file compressed and synced. */
  wallMs: number;
  compressedBytes: number;
  files: number;
  /** kcat + split + every compressor process (waited-for children), user + system. */
  cpuSeconds: number;
}

/**
 * The machine's limit for this job: librdkafka (kcat) consumes the raw topic, mawk splits lines
 * by the app id (a substring search, no JSON parsing) into per-app files, and the gzip/zstd CLI
 * compresses each at the same level logsplit uses (two processes at a time, one per core). Produced and
 * consumed at the same time, as logsplit's run is.
 */
export async function runLimit(opts: {
  brokers: string;
  topic: string;
  workload: Workload;
  codec: 'gzip' | 'zstd';
  level: number;
  dir: string;
}): Promise<LimitResult> {
  const out = join(opts.dir, 'limit-out');
  mkdirSync(out, { recursive: true });
  const cli = opts.codec === 'gzip' ? `gzip -${opts.level}` : `zstd -${opts.level} -q --rm`;
  // Split into per-app files, then compress them two at a time (one per core), many files per
  // CLI process: forking 1,000 compressors costs more than the compression of a small app.
  const awk = [
    '{ i = index($0, "\\"app\\":\\""); if (i == 0) next',
    '  s = substr($0, i + 7); print > (dir "/" substr(s, 1, index(s, "\\"") - 1)) }',
  ].join('\n');
  const script = [
    'set -eo pipefail',
    `kcat -C -b "$BROKERS" -t "$TOPIC" -o beginning -c "$COUNT" -q -f '%s\\n' -X fetch.max.bytes=8388608 -X max.partition.fetch.bytes=4194304 | mawk -v dir="$OUT" "$AWK"`,
    'cd "$OUT" && find . -type f -print0 | xargs -0 -P 2 -n 64 $CLI',
    'sync -f "$OUT"',
    'times',
  ].join('\n');
  const t0 = Date.now();
  const consumer = spawn('bash', ['-c', script], {
    env: {
      ...process.env,
      BROKERS: opts.brokers,
      TOPIC: opts.topic,
      COUNT: String(opts.workload.records),
      OUT: out,
      CLI: cli,
      AWK: awk,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  consumer.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  const producer = produce(opts.brokers, opts.topic, opts.workload.file);
  const [pcode, ccode] = await Promise.all([exited(producer), exited(consumer)]);
  const wallMs = Date.now() - t0;
  if (pcode !== 0 || ccode !== 0)
    throw new Error(`limit pipeline failed (kcat -P ${pcode}, consumer ${ccode})`);
  let compressedBytes = 0;
  const names = readdirSync(out);
  for (const n of names) compressedBytes += statSync(join(out, n)).size;
  return {
    name: `limit: kcat + mawk + ${opts.codec} -${opts.level}`,
    wallMs,
    compressedBytes,
    files: names.length,
    cpuSeconds: parseTimes(stdout),
  };
}

/** bash `times`: second line is the children's user and system time, e.g. "1m2.5s 0m3.1s". */
function parseTimes(text: string): number {
  const lines = text.trim().split('\n');
  const kids = lines[lines.length - 1] ?? '';
  let total = 0;
  for (const m of kids.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}
