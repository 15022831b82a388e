import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { appIndexPrefix, StorageDriver } from '@logsplit/common/storage';
import { indexListPrefixes, planReads, readIndexEntries, selectBlocks } from './index-scan';
import { MeteredStore, summarizeUsage } from './metered-store';
import { formatBytes, ProgressLine } from './progress';
import { readUnits } from './read-logs';
import { storeFromEnv } from './store';
import { iso, parseDuration, parseWindow } from './time-arg';

export interface LogsOptions {
  app: string;
  since?: string;
  until?: string;
  grep?: string;
  lag: string;
  prefetch: string;
  quiet?: boolean;
  /** Write what was fetched from the store (JSON) to this file; '-' = stderr. */
  stats?: string;
}

export interface LogsIo {
  store: StorageDriver;
  prefix: string;
  out: Writable;
  err: Writable & { isTTY?: boolean };
  now?: number;
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description(
      "stream one app's records, oldest block first, reading only that app's index and blocks",
    )
    .requiredOption('--app <id>', 'the app id')
    .option('--since <time>', 'start of the window: now, 15m, 2h, 1d, ISO 8601 (UTC), epoch ms')
    .option('--until <time>', 'end of the window (inclusive), same forms as --since')
    .option('--grep <text>', 'only lines containing this text (plain, case-sensitive)')
    .option(
      '--lag <duration>',
      'how long after its timestamp a record may reach a segment (widens the dt= days listed)',
      '1d',
    )
    .option('--prefetch <n>', 'ranged reads in flight ahead of the output', '4')
    .option('-q, --quiet', 'no progress or summary on stderr')
    .option('--stats <file>', 'write the store requests made, as JSON, to file (- = stderr)')
    .action(async (opts: LogsOptions) => {
      const { store, prefix } = storeFromEnv();
      await runLogs(opts, { store, prefix, out: process.stdout, err: process.stderr });
    });
}

/**
 * The read path: list the app's index entries (only the dt= days the window can touch), keep the
 * blocks whose time range overlaps the window, fetch them as byte ranges and stream the decoded
 * records in time order. Records carry no time the reader could trust, so the window is
 * block-granular: every record of an overlapping block is written (docs/reading-logs.md).
 */
export async function runLogs(opts: LogsOptions, io: LogsIo) {
  const now = io.now ?? Date.now();
  const window = parseWindow(opts.since, opts.until, now);
  const lagMs = parseDuration(opts.lag);
  const prefetch = Number(opts.prefetch);
  if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 64) {
    throw new Error(`--prefetch must be a whole number from 1 to 64 (got ${opts.prefetch})`);
  }
  const store = new MeteredStore(io.store);
  const progress = new ProgressLine(io.err, !opts.quiet);

  const prefixes = indexListPrefixes(io.prefix, opts.app, window, lagMs, now);
  const entries = await readIndexEntries(store, io.prefix, opts.app, prefixes);
  const blocks = selectBlocks(entries, window);
  const units = planReads(blocks);
  const segments = new Set(blocks.map((b) => b.key)).size;

  const result = await readUnits(store, units, io.out, {
    grep: opts.grep,
    prefetch,
    onProgress: (p) =>
      progress.update(
        () =>
          `logsplit logs ${opts.app}: ${p.unitsDone}/${p.units} reads, ` +
          `${formatBytes(p.bytesDone)} of ${formatBytes(p.bytes)} ` +
          `(${Math.floor((100 * p.bytesDone) / Math.max(1, p.bytes))}%), ${p.records} records`,
      ),
  });

  const usage = summarizeUsage(store.usage, appIndexPrefix(io.prefix, opts.app));
  progress.done(
    `logsplit logs ${opts.app}: ${result.records} records` +
      (opts.grep === undefined ? '' : `, ${result.matched} matching`) +
      ` from ${blocks.length} blocks of ${segments} segments ` +
      `(${entries.length} index entries; ${formatBytes(usage.dataBytes)} fetched) ` +
      `in ${(progress.elapsedMs() / 1000).toFixed(1)} s`,
  );
  const stats = {
    app: opts.app,
    since: iso(window.since),
    until: iso(window.until),
    indexEntries: entries.length,
    segments,
    blocks: blocks.length,
    records: result.records,
    matched: result.matched,
    ...usage,
    listed: store.usage.listed,
    reads: store.usage.reads,
  };
  if (opts.stats === '-') io.err.write(`${JSON.stringify(stats)}\n`);
  else if (opts.stats) writeFileSync(opts.stats, `${JSON.stringify(stats, null, 2)}\n`);
  return stats;
}
