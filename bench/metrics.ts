import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux the bench targets. */
const CLK_TCK = 100;

export interface ProcSample {
  cpuSeconds: number;
  peakRssBytes: number;
}

/** utime + stime and VmHWM of a live process; undefined once it is gone. */
export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may contain spaces).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(f[11]) + Number(f[12])) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { cpuSeconds, peakRssBytes: hwm ? Number(hwm[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

/** Total CPU seconds of a process and its waited-for children (cutime/cstime included). */
export function cpuWithChildren(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/**
 * Weighted percentile of (value, weight) samples: p in [0, 1]. A block's records share one
 * durable time, so each block is a sample weighted by its records.
 */
export function percentile(samples: { value: number; weight: number }[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a.value - b.value);
  const total = sorted.reduce((n, s) => n + s.weight, 0);
  let acc = 0;
  for (const s of sorted) {
    acc += s.weight;
    if (acc >= p * total) return s.value;
  }
  return sorted[sorted.length - 1].value;
}
