import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mulberry32 } from '@logsplit/common/util';
import { appName, zipfSampler } from '@logsplit/workload';

export interface Workload {
  file: string;
  records: number;
  /** Bytes as archived: every value plus its '\n' (what both pipelines compress). */
  rawBytes: number;
  apps: number;
}

/** One loghub file = one log format (Apache, HDFS, Android, ...). */
function loadFormats(dir: string): string[][] {
  const formats: string[][] = [];
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort()) {
      const lines = readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .map((l) => l.replace(/\r$/, ''))
        .filter((l) => l.trim() !== '');
      if (lines.length > 0) formats.push(lines);
    }
  }
  if (formats.length === 0) {
    formats.push(
      Array.from(
        { length: 500 },
        (_, i) => `12:${i % 60}:00 INFO worker-${i % 7} handled request ${i} in ${i % 97} ms`,
      ),
    );
  }
  return formats;
}

export function samplesDir(root: string): string {
  return process.env.LOGSPLIT_SAMPLES_DIR ?? resolve(root, '../shared/data/loghub');
}

const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];

/**
 * Writes `mb` MB of newline-delimited JSON records (the default app id source) to `file`:
 * `apps` apps with Zipf(1.1) traffic; each app logs mostly in one real format (a loghub file),
 * as real services do; lengths vary from one short line to multi-line stack traces (~1 in 40),
 * and ~1 in 7 messages carry multi-byte UTF-8. Deterministic for a seed.
 */
export async function writeWorkload(
  file: string,
  mb: number,
  apps: number,
  samples: string,
  seed = 6,
): Promise<Workload> {
  const formats = loadFormats(samples);
  const rand = mulberry32(seed);
  const pick = zipfSampler(apps, 1.1, rand);
  const hosts = Array.from({ length: 50 }, (_, i) => `ip-10-0-${i >> 3}-${(i * 37) % 250}`);
  const target = mb * 1e6;
  const out = createWriteStream(file);
  let rawBytes = 0;
  let records = 0;
  let ts = Date.parse('2026-11-23T12:00:00Z');
  const parts: string[] = [];
  let pending = 0;
  while (rawBytes < target) {
    const rank = pick();
    const own = formats[rank % formats.length];
    const lines = rand() < 0.9 ? own : formats[Math.floor(rand() * formats.length)];
    let msg = lines[Math.floor(rand() * lines.length)];
    const r = rand();
    if (r < 0.025) {
      // A multi-line message (stack trace style), kept as one record with escaped newlines.
      const n = 5 + Math.floor(rand() * 30);
      const trace: string[] = [msg];
      for (let i = 0; i < n; i++) trace.push(`\tat ${lines[Math.floor(rand() * lines.length)]}`);
      msg = trace.join('\n');
    } else if (r < 0.17) {
      msg +=
        ' ' +
        ['订单服务超时 重试中', 'Zahlung fehlgeschlagen: Betrag ungültig', 'ошибка'][rank % 3];
    }
    ts += Math.floor(rand() * 3);
    const line = JSON.stringify({
      app: appName(rank),
      ts: new Date(ts).toISOString(),
      level: LEVELS[Math.floor(rand() * LEVELS.length)],
      host: hosts[(rank * 7 + records) % hosts.length],
      msg,
    });
    parts.push(line);
    const bytes = Buffer.byteLength(line) + 1;
    rawBytes += bytes;
    pending += bytes;
    records++;
    if (pending > 1 << 20) {
      if (!out.write(parts.join('\n') + '\n'))
        await new Promise<void>((r) => out.once('drain', () => r()));
      parts.length = 0;
      pending = 0;
    }
  }
  out.write(parts.length ? parts.join('\n') + '\n' : '');
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  return { file, records, rawBytes, apps };
}
