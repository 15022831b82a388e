/**
 * Evaluates every query of the Grafana dashboard through a running Prometheus, and lists the
 * alert rules it has loaded: which queries return data, which are empty, which fail.
 *
 *   node dist/scripts/dashboard-queries.js http://127.0.0.1:9090 [--rate-interval 1m]
 *     [--dashboard deploy/grafana/dashboards/logsplit.json]
 *
 * Grafana's $__rate_interval becomes --rate-interval. Exits 1 when a query or rule fails to
 * evaluate (an empty result is not a failure: a metric may have no samples yet), 2 on bad usage.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Panel {
  title?: string;
  targets?: { expr: string; legendFormat?: string }[];
  panels?: Panel[];
}
interface QueryResult {
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
}
interface RulesResult {
  data: {
    groups: { rules: { name: string; health: string; state?: string; lastError?: string }[] }[];
  };
}

async function get<T>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'rate-interval': { type: 'string', default: '1m' },
      dashboard: { type: 'string', default: 'deploy/grafana/dashboards/logsplit.json' },
    },
  });
  const [prometheus] = positionals;
  if (!prometheus || positionals.length > 1) {
    process.stderr.write(
      'usage: dashboard-queries <prometheus-url> [--rate-interval 1m] [--dashboard file]\n',
    );
    return 2;
  }
  const dashboard = JSON.parse(readFileSync(values.dashboard, 'utf8')) as { panels: Panel[] };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  let failed = 0;
  for (const panel of panels) {
    for (const target of panel.targets ?? []) {
      const expr = target.expr.replaceAll('$__rate_interval', values['rate-interval']);
      const r = await get<QueryResult>(
        `${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      let outcome: string;
      if (r.status !== 'success') {
        failed++;
        outcome = `ERROR  ${r.error}`;
      } else {
        const series = r.data!.result.filter((s) => !Number.isNaN(Number(s.value[1])));
        outcome = series.length
          ? `DATA   ${series
              .slice(0, 4)
              .map((s) => `${labelsOf(s.metric)}=${round(s.value[1])}`)
              .join(' ')}${series.length > 4 ? ` (+${series.length - 4})` : ''}`
          : 'EMPTY';
      }
      process.stdout.write(
        `${panel.title} [${target.legendFormat ?? ''}]\n  ${expr}\n  ${outcome}\n`,
      );
    }
  }
  const rules = await get<RulesResult>(`${prometheus}/api/v1/rules`);
  for (const rule of rules.data.groups.flatMap((g) => g.rules)) {
    if (rule.health !== 'ok' && rule.health !== 'unknown') failed++;
    process.stdout.write(
      `rule ${rule.name}: ${rule.health}${rule.state ? `, ${rule.state}` : ''}${rule.lastError ? ` (${rule.lastError})` : ''}\n`,
    );
  }
  return failed ? 1 : 0;
}

function labelsOf(metric: Record<string, string>): string {
  const shown = Object.entries(metric).filter(([k]) => k !== '__name__');
  return `{${shown.map(([k, v]) => `${k}=${v}`).join(',')}}`;
}

function round(value: string): string {
  const n = Number(value);
  return Number.isInteger(n) ? String(n) : n.toPrecision(4);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`dashboard-queries: ${String(err)}\n`);
    process.exit(1);
  },
);
