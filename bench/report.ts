import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LimitResult } from './limit-pipeline';
import type { LogsplitResult } from './run-logsplit';
import type { Workload } from './workload';

export interface BenchReport {
  startedAt: string;
  host: string;
  workload: Workload;
  codec: string;
  level: number;
  segmentAgeMs: number;
  limit: LimitResult;
  runs: LogsplitResult[];
}

const MB = 1e6;
const MiB = 1024 * 1024;
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)} %` : '–');

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function byRole(r: LogsplitResult, role: string) {
  return r.services.filter((s) => s.name.startsWith(role));
}

export function markdown(rep: BenchReport): string {
  const w = rep.workload;
  const lim = rep.limit;
  const limMBs = w.rawBytes / MB / (lim.wallMs / 1000);
  const limRatio = w.rawBytes / lim.compressedBytes;
  const out: string[] = [];
  out.push(`# logsplit bench — ${rep.startedAt}`, '');
  out.push(
    `Host: ${rep.host}. Workload: ${(w.rawBytes / MB).toFixed(1)} MB raw, ${w.records} records, ` +
      `${w.apps} apps (Zipf 1.1), JSON records with loghub messages. Codec ${rep.codec} level ` +
      `${rep.level}; segment max age ${rep.segmentAgeMs / 1000} s (bench setting).`,
    '',
  );
  out.push('## Throughput, compression, latency (side by side, same data)', '');
  out.push(
    row([
      'pipeline',
      'compressors / by-app partitions',
      '→ durable s',
      'raw MB/s',
      'records/s',
      'vs limit',
      '→ uploaded s',
      'raw MB/s (uploaded)',
      'compression ratio',
      'vs CLI',
      'files/app/window mean · max',
      'p50 / p99 produce→durable ms',
      'CPU s/GB',
      'CPU s/GB after start-up',
    ]),
    row(Array<string>(14).fill('---')),
  );
  out.push(
    row([
      lim.name,
      '–',
      f1(lim.wallMs / 1000),
      f1(limMBs),
      Math.round(w.records / (lim.wallMs / 1000)),
      '100 %',
      '–',
      '–',
      f2(limRatio),
      '100 %',
      `1 (${lim.files} files)`,
      '–',
      f1(lim.cpuSeconds / (w.rawBytes / 1e9)),
      f1(lim.cpuSeconds / (w.rawBytes / 1e9)),
    ]),
  );
  for (const r of rep.runs) {
    const mbs = r.rawBytes / MB / (r.durableMs / 1000);
    const ratio = r.rawBytes / r.compressedBytes;
    const cpu = r.services.reduce((s, x) => s + x.cpuSeconds, 0);
    const startup = r.services.reduce((s, x) => s + (x.startupCpuSeconds ?? NaN), 0);
    out.push(
      row([
        r.name,
        `${r.compressors} / ${r.byAppPartitions}`,
        f1(r.durableMs / 1000),
        f1(mbs),
        Math.round(r.records / (r.durableMs / 1000)),
        pct(mbs / limMBs),
        f1(r.uploadedMs / 1000),
        f1(r.rawBytes / MB / (r.uploadedMs / 1000)),
        f2(ratio),
        pct(ratio / limRatio),
        `${f2(r.filesPerAppWindowMean)} · ${f1(r.filesPerAppWindowMax)}`,
        `${Math.round(r.latencyP50Ms)} / ${Math.round(r.latencyP99Ms)}` +
          (r.latencyCoverage < 0.99 ? ` (${pct(r.latencyCoverage)} seen)` : ''),
        f1(cpu / (r.rawBytes / 1e9)),
        f1((cpu - startup) / (r.rawBytes / 1e9)),
      ]),
    );
  }
  out.push('', '## Services', '');
  out.push(
    row([
      'run',
      'blocks appended (mean raw KB)',
      'ready ms (max) s/c/u',
      'peak RSS MiB (max) s/c/u',
      'CPU s splitter / compressors / uploader',
    ]),
    row(Array<string>(5).fill('---')),
  );
  for (const r of rep.runs) {
    const roles = ['splitter', 'compressor', 'uploader'].map((role) => byRole(r, role));
    out.push(
      row([
        r.name,
        r.blocks ? `${r.blocks} (${f1(r.rawBytes / 1024 / r.blocks)})` : '–',
        roles.map((s) => Math.round(Math.max(...s.map((x) => x.readyMs)))).join(' / '),
        roles.map((s) => f1(Math.max(...s.map((x) => x.peakRssBytes)) / MiB)).join(' / '),
        roles.map((s) => f1(s.reduce((n, x) => n + x.cpuSeconds, 0))).join(' / '),
      ]),
    );
  }
  const pair = (prefix: string) => rep.runs.filter((r) => r.name.startsWith(prefix));
  const before = pair('logsplit before');
  const after = pair('logsplit after');
  if (before.length > 0 && after.length > 0) {
    const mean = (rs: LogsplitResult[], f: (r: LogsplitResult) => number) =>
      rs.reduce((n, r) => n + f(r), 0) / rs.length;
    const mbs = (r: LogsplitResult) => r.rawBytes / MB / (r.durableMs / 1000);
    const perGb = (role: string) => (r: LogsplitResult) =>
      byRole(r, role).reduce((n, x) => n + x.cpuSeconds, 0) / (r.rawBytes / 1e9);
    out.push('', '## Before / after (1 compressor, 6 partitions, to durable; mean of pairs)', '');
    out.push(row(['', 'before', 'after']), row(['---', '---', '---']));
    out.push(row(['raw MB/s', f2(mean(before, mbs)), f2(mean(after, mbs))]));
    for (const role of ['splitter', 'compressor']) {
      out.push(
        row([`${role} CPU s/GB`, f1(mean(before, perGb(role))), f1(mean(after, perGb(role)))]),
      );
    }
  }
  out.push(
    '',
    'Notes: "→ durable" is first record produced → last block fsynced with its manifest line ' +
      '(max appendedAt); "→ uploaded" adds the segment age and the uploader interval (idle ' +
      'segments are sealed by age). Latency per block: appendedAt minus the Kafka timestamps of ' +
      "its records (spread over the block's min..max time); all data is produced at full speed, " +
      'so latency includes queueing behind the backlog. Files per app per window: objects per ' +
      'app divided by the number of segment-age windows the run spans; a steadily writing app ' +
      'gets 3600 s / age of them per hour and per writer slot in use.',
    '',
  );
  return out.join('\n');
}

/** A bar chart of raw MB/s (to durable) per pipeline, with gnuplot (gnuplot-nox). */
export function chart(rep: BenchReport, dir: string): string | undefined {
  const w = rep.workload;
  const rows = [
    ['limit', w.rawBytes / MB / (rep.limit.wallMs / 1000), NaN],
    ...rep.runs.map((r) => [
      r.name.replace(/^logsplit /, '').replace(/ /g, '\\n'),
      r.rawBytes / MB / (r.durableMs / 1000),
      r.rawBytes / MB / (r.uploadedMs / 1000),
    ]),
  ];
  const data = join(dir, 'throughput.dat');
  writeFileSync(
    data,
    rows
      .map(
        ([n, a, b]) =>
          `"${String(n)}" ${Number(a).toFixed(2)} ${Number.isFinite(b) ? Number(b).toFixed(2) : 0}`,
      )
      .join('\n') + '\n',
  );
  const png = join(dir, 'throughput.png');
  const script = [
    'set terminal pngcairo size 1000,520 font "sans,10"',
    `set output "${png}"`,
    `set title "raw MB/s end to end, ${(w.rawBytes / MB).toFixed(0)} MB, ${rep.codec}-${rep.level}, 2 cores"`,
    'set style data histograms',
    'set style histogram clustered gap 1',
    'set style fill solid 0.8 border -1',
    'set boxwidth 0.9',
    'set bmargin 5',
    'set ylabel "raw MB/s"',
    'set yrange [0:*]',
    'set key top right',
    'set grid ytics',
    `plot "${data}" using 2:xtic(1) title "first record → last durable", "" using 3 title "→ last uploaded"`,
  ].join('\n');
  try {
    execFileSync('gnuplot', [], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
    return png;
  } catch (err) {
    process.stderr.write(`bench: no chart (gnuplot failed: ${String(err)})\n`);
    return undefined;
  }
}

export function summary(rep: BenchReport): string {
  const w = rep.workload;
  const limMBs = w.rawBytes / MB / (rep.limit.wallMs / 1000);
  const limRatio = w.rawBytes / rep.limit.compressedBytes;
  const lines = [
    `limit (kcat + mawk + ${rep.codec} CLI): ${limMBs.toFixed(1)} MB/s, ratio ${limRatio.toFixed(2)}`,
  ];
  for (const r of rep.runs) {
    const mbs = r.rawBytes / MB / (r.durableMs / 1000);
    const ratio = r.rawBytes / r.compressedBytes;
    const rss = Math.max(...r.services.map((s) => s.peakRssBytes)) / MiB;
    const ready = Math.max(...r.services.map((s) => s.readyMs));
    lines.push(
      `${r.name}: ${mbs.toFixed(1)} MB/s (${((mbs / limMBs) * 100).toFixed(0)} % of limit; target ≥ 70 %), ` +
        `ratio ${ratio.toFixed(2)} (${((ratio / limRatio) * 100).toFixed(0)} % of CLI; target ≥ 95 %), ` +
        `p50/p99 ${Math.round(r.latencyP50Ms)}/${Math.round(r.latencyP99Ms)} ms, ` +
        `max RSS ${rss.toFixed(0)} MiB (target < 512), max ready ${Math.round(ready)} ms (target < 1000)`,
    );
  }
  return lines.join('\n');
}
