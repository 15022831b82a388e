import { Histogram } from 'prom-client';
import { Metrics } from '@logsplit/common';

/**
 * Series names Prometheus itself adds for every scrape target; a query may name them although no
 * service exports them.
 */
export const SCRAPE_SERIES = ['up'];

/**
 * The series names the services really export: every metric of the Metrics registry all three
 * services run with, histograms as their _bucket, _sum and _count series.
 */
export function exportedSeries(): Set<string> {
  return new Set(exportedLabels().keys());
}

/** Labels every series has: the services' default label and the scrape's target labels. */
export const TARGET_LABELS = ['service', 'instance', 'job'];

/** Each exported series (and `up`) with the label names its samples can carry. */
export function exportedLabels(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of new Metrics('any', 0).registry.getMetricsAsArray()) {
    // prom-client keeps a metric's configured label names on the instance.
    const labels = [...((m as { labelNames?: string[] }).labelNames ?? []), ...TARGET_LABELS];
    if (m instanceof Histogram) {
      out.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      out.set(`${m.name}_sum`, new Set(labels));
      out.set(`${m.name}_count`, new Set(labels));
    } else {
      out.set(m.name, new Set(labels));
    }
  }
  for (const s of SCRAPE_SERIES) out.set(s, new Set(TARGET_LABELS));
  return out;
}

/** The label names an expression matches on or groups by. */
export function labelNames(expr: string): string[] {
  const s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const names: string[] = [];
  for (const m of s.matchAll(/\{([^}]*)\}/g)) {
    for (const l of m[1].matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) names.push(l[1]);
  }
  const lists = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/gi;
  for (const m of s.matchAll(lists)) {
    names.push(
      ...m[1]
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    );
  }
  return [...new Set(names)];
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects. Not a parser: strings, Grafana variables, label
 * matchers, ranges and label lists are blanked, then every identifier that is not a function call,
 * a keyword or a number is a metric name.
 */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ') // $__rate_interval, ${datasource}
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names: string[] = [];
  for (const m of s.matchAll(/\d[\w.]*|[A-Za-z_:][\w:]*/g)) {
    const word = m[0];
    if (/^\d/.test(word) || KEYWORDS.has(word.toLowerCase())) continue;
    if (
      s
        .slice(m.index + word.length)
        .trimStart()
        .startsWith('(')
    )
      continue; // a function
    names.push(word);
  }
  return [...new Set(names)];
}
