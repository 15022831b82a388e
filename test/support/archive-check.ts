import { join } from 'node:path';
import { decodeManyWithCli, readIndexEntries, splitRecords } from './archive';
import { PipelineEnv } from './pipeline';

/**
 * Every archived line by app, decoded from the bucket. Compare with the produced lines (both
 * sorted) to prove 0 lost and 0 duplicated.
 */
export function archivedLinesByApp(p: PipelineEnv): Map<string, string[]> {
  const entries = readIndexEntries(p.bucketDir, p.prefix);
  const decoded = decodeManyWithCli(entries.map((e) => join(p.bucketDir, e.key)));
  const out = new Map<string, string[]>();
  for (const e of entries) {
    const data = decoded.get(join(p.bucketDir, e.key));
    if (data instanceof Error) throw data;
    if (!data) throw new Error(`${e.key} was not decoded`);
    const lines = out.get(e.app) ?? [];
    lines.push(...splitRecords(data));
    out.set(e.app, lines);
  }
  return out;
}

/** Lost and duplicated lines of `actual` against `expected`, over all apps. */
export function conservationGaps(
  expected: Map<string, string[]>,
  actual: Map<string, string[]>,
): { lost: number; duplicated: number; total: number } {
  let lost = 0;
  let duplicated = 0;
  let total = 0;
  for (const app of new Set([...expected.keys(), ...actual.keys()])) {
    const want = new Map<string, number>();
    for (const l of expected.get(app) ?? []) want.set(l, (want.get(l) ?? 0) + 1);
    for (const l of actual.get(app) ?? []) {
      total++;
      const n = want.get(l) ?? 0;
      if (n > 0) want.set(l, n - 1);
      else duplicated++;
    }
    for (const n of want.values()) lost += n;
  }
  return { lost, duplicated, total };
}
