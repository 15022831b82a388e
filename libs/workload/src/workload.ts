import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mulberry32 } from '@logsplit/common/util';

/**
 * Real log lines from loghub (../shared/data/loghub beside the repo), read at run time; `dir`
 * (the --samples flag) or LOGSPLIT_SAMPLES_DIR point elsewhere.
 */
export function loadSampleLines(
  dir = process.env.LOGSPLIT_SAMPLES_DIR ?? findSamplesDir(),
): string[] {
  const lines: string[] = [];
  if (dir) {
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort()) {
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
        if (line.trim() !== '') lines.push(line.replace(/\r$/, ''));
      }
    }
  }
  if (lines.length === 0) {
    // Without the shared samples, still produce log-shaped text of varied length.
    for (let i = 0; i < 500; i++) {
      lines.push(
        `2024-05-0${i % 9} 12:${i % 60}:00 INFO worker-${i % 7} handled request ${i} in ${i % 97} ms`,
      );
    }
  }
  return lines;
}

/** Samples ranks 0..n-1 with P(k) ∝ 1/(k+1)^s: a few hot apps and a long tail. */
export function zipfSampler(n: number, s: number, rand: () => number): () => number {
  const cdf: number[] = [];
  let total = 0;
  for (let k = 0; k < n; k++) cdf.push((total += 1 / Math.pow(k + 1, s)));
  return () => {
    const x = rand() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface GoodRecord {
  app: string;
  value: Buffer;
}

const MULTIBYTE = [
  '订单服务超时 重试中',
  'Zahlung fehlgeschlagen: Betrag ungültig',
  '🚀 deploy ok',
  'ошибка соединения',
];

/**
 * Records over `apps` apps with a Zipf-like skew. Values are JSON with the app id in `app`;
 * every 7th carries multi-byte UTF-8 and every 50th already ends in '\n' (stored as is).
 */
export function generateGoodRecords(
  count: number,
  apps: number,
  seed = 42,
  lines = loadSampleLines(),
): GoodRecord[] {
  const rand = mulberry32(seed);
  const pick = zipfSampler(apps, 1.1, rand);
  const out: GoodRecord[] = [];
  for (let i = 0; i < count; i++) {
    const app = appName(pick());
    let msg = lines[Math.floor(rand() * lines.length)];
    if (i % 7 === 0) msg += ' ' + MULTIBYTE[i % MULTIBYTE.length];
    const json = JSON.stringify({ app, seq: i, level: ['INFO', 'WARN', 'ERROR'][i % 3], msg });
    out.push({ app, value: Buffer.from(i % 50 === 0 ? json + '\n' : json) });
  }
  return out;
}

export function appName(rank: number): string {
  return `app-${String(rank).padStart(4, '0')}`;
}

/**
 * libs/workload/src and <dist>/libs/workload/src sit three and four levels below the repo, whose sibling
 * shared/ holds the samples; a build outside the repo (LOGSPLIT_DIST_DIR) finds them from the cwd.
 */
function findSamplesDir(): string {
  return (
    [
      resolve(__dirname, '../../../../shared/data/loghub'),
      resolve(__dirname, '../../../../../shared/data/loghub'),
      resolve(process.cwd(), '../shared/data/loghub'),
    ].find(existsSync) ?? ''
  );
}
