import { mulberry32 } from '@logsplit/common/util';
import { appName, loadSampleLines, zipfSampler } from '@logsplit/workload';

/**
 * The chaos workload: the benchmark's Zipf-skewed loghub lines, each stamped with the run id and
 * a sequence number unique in the run, so every archived line names exactly one produced record
 * and loss or duplication is counted record by record, not estimated from totals.
 */
export interface Workload {
  run: string;
  count: number;
  apps: string[];
  /** App index (into apps) of every seq. */
  appOf: Uint32Array;
  /** The value of record `seq`, rebuilt on demand (not kept: long runs have millions). */
  value(seq: number): Buffer;
}

const MULTIBYTE = [
  '订单服务超时 重试中',
  'Zahlung fehlgeschlagen: Betrag ungültig',
  '🚀 deploy ok',
];
const LEVELS = ['INFO', 'WARN', 'ERROR'];

export function chaosWorkload(
  count: number,
  appCount: number,
  seed: number,
  lines = loadSampleLines(),
): Workload {
  const run = `chaos-${seed.toString(36)}`;
  const rand = mulberry32(seed);
  const pick = zipfSampler(appCount, 1.1, rand);
  const apps = Array.from({ length: appCount }, (_, k) => appName(k));
  const appOf = new Uint32Array(count);
  const lineOf = new Uint32Array(count);
  for (let seq = 0; seq < count; seq++) {
    appOf[seq] = pick();
    lineOf[seq] = Math.floor(rand() * lines.length);
  }
  return {
    run,
    count,
    apps,
    appOf,
    value(seq) {
      let msg = lines[lineOf[seq]];
      if (seq % 7 === 0) msg += ' ' + MULTIBYTE[seq % MULTIBYTE.length];
      const app = apps[appOf[seq]];
      return Buffer.from(JSON.stringify({ app, run, seq, level: LEVELS[seq % 3], msg }));
    },
  };
}

/** The run and seq of an archived or chunked line; undefined when it is not one of ours. */
export function parseLine(line: string): { app: string; run: string; seq: number } | undefined {
  try {
    const v = JSON.parse(line) as { app?: unknown; run?: unknown; seq?: unknown };
    if (typeof v.app !== 'string' || typeof v.run !== 'string' || !Number.isInteger(v.seq)) {
      return undefined;
    }
    return { app: v.app, run: v.run, seq: v.seq as number };
  } catch {
    return undefined;
  }
}
