import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

/** Self time per function of one .cpuprofile, largest first, as [label, share of samples]. */
export function topSelf(file: string, limit = 15): [string, number][] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (const id of p.samples ?? []) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    const where = url.replace(/^.*\/(node_modules|dist|bench-dist[^/]*)\//, '$1/');
    const label = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    self.set(label, (self.get(label) ?? 0) + 1);
    total++;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, v]) => [k, v / total]);
}

/** node dist/bench/profile-top.js <dir with .cpuprofile files> [limit] */
if (require.main === module) {
  const dir = process.argv[2];
  const limit = Number(process.argv[3] ?? 15);
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
    process.stdout.write(`\n${f}\n`);
    for (const [label, share] of topSelf(join(dir, f), limit)) {
      process.stdout.write(`  ${(share * 100).toFixed(1).padStart(5)} %  ${label}\n`);
    }
  }
}
