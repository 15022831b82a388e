import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { parseIndexEntry } from '@logsplit/common/archive';
import { StorageDriver } from '@logsplit/common/storage';
import { mapLimit } from '@logsplit/common/util';
import { formatBytes } from './progress';
import { storeFromEnv } from './store';
import { iso } from './time-arg';

export interface AppSummary {
  app: string;
  segments: number;
  records: number;
  bytes: number;
  rawBytes: number;
  minTime: number;
  maxTime: number;
}

export function registerApps(program: Command): void {
  program
    .command('apps')
    .description('list the apps in the store, with segments, records, bytes and time range')
    .option('--json', 'one JSON object per app instead of a table')
    .action(async (opts: { json?: boolean }) => {
      const { store, prefix } = storeFromEnv();
      const apps = await listApps(store, prefix);
      writeApps(apps, process.stdout, opts.json === true);
    });
}

/**
 * Every app with at least one index entry, from the index alone (no data object is read): one
 * listing of <prefix>/_index/ and one small get per entry.
 */
export async function listApps(
  store: StorageDriver,
  prefix: string,
  concurrency = 16,
): Promise<AppSummary[]> {
  const indexRoot = `${prefix.replace(/\/+$/, '')}/_index/`;
  const keys: { app: string; key: string }[] = [];
  for await (const key of store.list(indexRoot)) {
    const app = key.slice(indexRoot.length).split('/')[0];
    if (key.endsWith('.json') && app) keys.push({ app, key });
  }
  const apps = new Map<string, AppSummary>();
  await mapLimit(keys, concurrency, async ({ app, key }) => {
    const e = parseIndexEntry(await store.getBuffer(key), key, prefix, app);
    const s = apps.get(app) ?? {
      app,
      segments: 0,
      records: 0,
      bytes: 0,
      rawBytes: 0,
      minTime: Infinity,
      maxTime: -Infinity,
    };
    s.segments += 1;
    s.records += e.records;
    s.bytes += e.bytes;
    s.rawBytes += e.rawBytes ?? 0;
    s.minTime = Math.min(s.minTime, e.minTime);
    s.maxTime = Math.max(s.maxTime, e.maxTime);
    apps.set(app, s);
  });
  return [...apps.values()].sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0));
}

export function writeApps(apps: AppSummary[], out: Writable, json: boolean): void {
  if (json) {
    for (const a of apps) {
      out.write(`${JSON.stringify({ ...a, minTime: iso(a.minTime), maxTime: iso(a.maxTime) })}\n`);
    }
    return;
  }
  const rows = [
    ['APP', 'SEGMENTS', 'RECORDS', 'BYTES', 'FIRST', 'LAST'],
    ...apps.map((a) => [
      a.app,
      String(a.segments),
      String(a.records),
      formatBytes(a.bytes),
      iso(a.minTime),
      iso(a.maxTime),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows)
    out.write(
      `${r
        .map((v, c) => v.padEnd(widths[c]))
        .join('  ')
        .trimEnd()}\n`,
    );
}
