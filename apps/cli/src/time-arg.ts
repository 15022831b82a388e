const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** '90s', '15m', '2h', '1d', '1w', '250ms', or a plain number of milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (try 90s, 15m, 2h, 1d)`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']);
}

/**
 * An instant for --since / --until, in epoch ms: 'now'; a duration ago ('15m', '2h', '1d');
 * epoch milliseconds (10+ digits; what the index stores); or an ISO 8601 date or date-time
 * ('2026-11-23', '2026-11-23T14:00', '2026-11-23T14:00:00+08:00'). A date-time without a zone
 * is UTC, like the dt=/hh= partitions, so a shell's TZ cannot shift the window silently.
 */
export function parseTime(text: string, now: number = Date.now()): number {
  const t = text.trim();
  if (t === 'now') return now;
  if (/^\d{10,}$/.test(t)) return Number(t);
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d|w)$/.test(t)) return now - parseDuration(t);
  const iso =
    /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (iso) {
    const withZone = iso[1] ? t : `${t.length === 10 ? `${t}T00:00` : t}Z`;
    const ms = Date.parse(withZone.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  throw new Error(
    `not a time: ${JSON.stringify(text)} (try now, 15m, 2h, 2026-11-23T14:00Z or epoch ms)`,
  );
}

/** The inclusive window [since, until] a read covers, both in epoch ms. */
export interface TimeWindow {
  since: number;
  until: number;
}

export function parseWindow(since?: string, until?: string, now = Date.now()): TimeWindow {
  const w = {
    since: since === undefined ? -Infinity : parseTime(since, now),
    until: until === undefined ? Infinity : parseTime(until, now),
  };
  if (w.since > w.until) {
    throw new Error(`--since (${iso(w.since)}) is after --until (${iso(w.until)})`);
  }
  return w;
}

export function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
