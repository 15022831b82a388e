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
  const metrics = new Metrics('any', 0).registry.getMetricsAsArray();
  const names = metrics.flatMap((m) =>
    m instanceof Histogram ? ['_bucket', '_sum', '_count'].map((s) => m.name + s) : [m.name],
  );
  return new Set(names);
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
