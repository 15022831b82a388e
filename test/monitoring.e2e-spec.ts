import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './support/infra';
import {
  exportedLabels,
  exportedSeries,
  labelNames,
  metricNames,
  SCRAPE_SERIES,
} from './support/promql';

/**
 * The operator's view: the alert rules pass promtool's checks and unit tests, and every dashboard
 * query and alert expression names only series the services really export.
 */

const PROMETHEUS_DIR = join(ROOT, 'deploy/prometheus');
const ALERTS = join(PROMETHEUS_DIR, 'alerts.yml');
const ALERT_TESTS = join(PROMETHEUS_DIR, 'tests/alerts.test.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/dashboards/logsplit.json');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
interface Panel {
  title?: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

const rules: Rule[] = (
  parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queries = panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })),
);

/** Runs promtool; fails (never skips) when it is not installed. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'promtool not found: install it (Debian/Ubuntu: apt-get install prometheus; .ci/run does) ' +
        'to test the alert rules',
    );
  }
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('alert rules (promtool)', () => {
  it('pass `promtool check rules`', () => {
    const r = promtool('check', 'rules', ALERTS);
    expect({ status: r.status, output: r.output }).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });

  it("pass their unit tests: each alert fires on its series and stays quiet on others'", () => {
    const r = promtool('test', 'rules', ALERT_TESTS);
    expect({ status: r.status, output: r.output }).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });

  it('are each tested both firing and not firing', () => {
    const tests = (
      parse(readFileSync(ALERT_TESTS, 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of rules.filter((r) => r.alert)) {
      const cases = tests.filter((t) => t.alertname === alert);
      expect({
        alert,
        fires: cases.some((c) => c.exp_alerts.length > 0),
        quiet: cases.some((c) => c.exp_alerts.length === 0),
      }).toEqual({ alert, fires: true, quiet: true });
    }
  });

  it.each(['prometheus.yml', 'local.yml'])(
    'are loaded by the Prometheus of %s, which passes `promtool check config`',
    (file) => {
      const config = parse(readFileSync(join(PROMETHEUS_DIR, file), 'utf8')) as {
        rule_files: string[];
      };
      expect(config.rule_files).toContain('alerts.yml');
      const r = promtool('check', 'config', file);
      expect({ status: r.status, output: r.output }).toEqual({
        status: 0,
        output: expect.stringContaining('SUCCESS'),
      });
    },
  );
});

describe('metric names in queries', () => {
  it('finds the metric names of an expression, and only those', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le) (rate(logsplit_lock_wait_seconds_bucket{service="x"}[$__rate_interval])))',
      ),
    ).toEqual(['logsplit_lock_wait_seconds_bucket']);
    expect(
      metricNames(
        'sum(rate(a_total[5m] offset 1h)) / on (service) group_left (app) b > 160 * 1024 ^ 3 and up == 0',
      ),
    ).toEqual(['a_total', 'b', 'up']);
  });

  it('every dashboard query and alert expression names only exported series', () => {
    const known = new Set([...exportedSeries(), ...SCRAPE_SERIES]);
    // A name the services do not export must be caught, or the check below proves nothing.
    expect(known.has('logsplit_consumer_lag')).toBe(true);
    expect(known.has('logsplit_lock_wait_seconds_bucket')).toBe(true);
    expect(known.has('logsplit_spool_bytes')).toBe(false);
    const all = [...queries, ...rules.map((r) => ({ where: `rule ${r.alert}`, expr: r.expr }))];
    expect(queries.length).toBeGreaterThan(10);
    for (const { where, expr } of all) {
      const names = metricNames(expr);
      expect({ where, names: names.length > 0 }).toEqual({ where, names: true });
      expect({ where, unknown: names.filter((n) => !known.has(n)) }).toEqual({
        where,
        unknown: [],
      });
    }
  });

  it('finds the label names an expression matches on or groups by', () => {
    expect(
      labelNames(
        'sum by (service, topic) (x{reason="a,b}", partition!~"1"}) / on(app) group_left (le) y',
      ),
    ).toEqual(['reason', 'partition', 'service', 'topic', 'app', 'le']);
  });

  it('every query matches and groups only by labels its metrics carry', () => {
    const labels = exportedLabels();
    expect(labels.get('logsplit_upload_errors_total')?.has('step')).toBe(true);
    expect(labels.get('logsplit_consumer_lag')?.has('reason')).toBe(false);
    const all = [...queries, ...rules.map((r) => ({ where: `rule ${r.alert}`, expr: r.expr }))];
    for (const { where, expr } of all) {
      const carried = new Set(metricNames(expr).flatMap((n) => [...(labels.get(n) ?? [])]));
      expect({ where, unknown: labelNames(expr).filter((l) => !carried.has(l)) }).toEqual({
        where,
        unknown: [],
      });
    }
  });

  it('the dashboard shows what an operator asks: throughput, lag, locks, files, spool, uploads, DLQ, pauses', () => {
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)));
    for (const name of [
      'logsplit_records_in_total',
      'logsplit_records_out_total',
      'logsplit_bytes_in_total',
      'logsplit_bytes_out_total',
      'logsplit_consumer_lag',
      'logsplit_lock_wait_seconds_bucket',
      'logsplit_segment_bytes_count', // archived objects (files) per hour
      'logsplit_spool_pending_bytes',
      'logsplit_upload_duration_seconds_bucket',
      'logsplit_dlq_records_total',
      'logsplit_consumer_paused',
      'logsplit_consumer_pauses_total',
    ]) {
      expect({ name, shown: used.has(name) }).toEqual({ name, shown: true });
    }
  });
});
