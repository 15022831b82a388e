import { readFileSync } from 'node:fs';

export interface ProcMemory {
  /** Resident set size now (VmRSS). */
  rssBytes: number;
  /** Peak resident set size over the process's life so far (VmHWM, the "high water mark"). */
  peakRssBytes: number;
}

/** VmRSS and VmHWM of a live process from /proc; undefined once it is gone (or off Linux). */
export function readProcMemory(pid: number | undefined): ProcMemory | undefined {
  if (pid === undefined) return undefined;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
  const rss = kb('VmRSS');
  const hwm = kb('VmHWM');
  // A zombie has no memory lines left: treat it as gone.
  if (!Number.isFinite(rss) || !Number.isFinite(hwm)) return undefined;
  return { rssBytes: rss * 1024, peakRssBytes: hwm * 1024 };
}

/** Peak memory per process over a run, sampled while the processes live. */
export class PeakMemory {
  private readonly peaks = new Map<string, { service: string; peakRssBytes: number }>();

  /** Reads the process now and keeps its highest VmHWM; call often, and once more before a stop. */
  sample(service: string, instance: string, pid: number | undefined): void {
    const m = readProcMemory(pid);
    if (!m) return;
    const known = this.peaks.get(instance);
    if (!known || m.peakRssBytes > known.peakRssBytes) {
      this.peaks.set(instance, { service, peakRssBytes: m.peakRssBytes });
    }
  }

  /** Highest peak of any instance, per service, with the instance that reached it. */
  perService(): Map<string, { instance: string; peakRssBytes: number }> {
    const out = new Map<string, { instance: string; peakRssBytes: number }>();
    for (const [instance, { service, peakRssBytes }] of this.peaks) {
      const best = out.get(service);
      if (!best || peakRssBytes > best.peakRssBytes) out.set(service, { instance, peakRssBytes });
    }
    return out;
  }

  perInstance(): { instance: string; service: string; peakRssBytes: number }[] {
    return [...this.peaks].map(([instance, p]) => ({ instance, ...p }));
  }
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
