/** One sample of the Prometheus text exposition format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Parses Prometheus text format 0.0.4 strictly: every line is a comment (# HELP / # TYPE / #),
 * blank, or a well-formed sample; anything else throws with the line.
 */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      if (
        line.startsWith('# TYPE ') &&
        !/^# TYPE \S+ (counter|gauge|histogram|summary|untyped)$/.test(line)
      ) {
        throw new Error(`bad TYPE line: ${line}`);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    const rest = body.replace(LABEL, (_all, k: string, v: string) => {
      labels[k] = v.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
      return '';
    });
    if (!/^[\s,]*$/.test(rest)) throw new Error(`bad labels in: ${line}`);
    const value = Number(m[4].replace(/^\+Inf$/, 'Infinity').replace(/^-Inf$/, '-Infinity'));
    if (Number.isNaN(value) && m[4] !== 'NaN') throw new Error(`bad value in: ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

/** Sum of the samples of one metric whose labels include `where`. */
export function total(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

export async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  if (!res.headers.get('content-type')?.startsWith('text/plain')) {
    throw new Error(`unexpected content type ${res.headers.get('content-type')}`);
  }
  return parsePrometheus(await res.text());
}
