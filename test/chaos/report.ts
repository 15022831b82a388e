import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { mib } from '../support/proc-memory';
import { REPO } from './infra';
import { describeKills, ChaosReport } from './run-chaos';

const n = (x: number) => x.toLocaleString('en-US');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Whether the run kept the promise: every record exactly once, every archive readable. */
export function verdictProblems(r: ChaosReport): string[] {
  const a = r.audit;
  const problems: string[] = [];
  if (!r.drained)
    problems.push('the archive did not settle in time (records still on the spool or in flight)');
  if (a.lost > 0) problems.push(`${n(a.lost)} records lost`);
  if (a.duplicated > 0) problems.push(`${n(a.duplicated)} records duplicated`);
  if (a.undecodable.length > 0) problems.push(`${a.undecodable.length} archives do not decode`);
  if (a.inconsistent.length > 0)
    problems.push(`${a.inconsistent.length} index entries disagree with their object`);
  if (a.misrouted > 0) problems.push(`${a.misrouted} records in another app's archive`);
  return problems;
}

/** The one-screen summary every run prints, then the details of whatever went wrong. */
export function formatReport(r: ChaosReport): string {
  const a = r.audit;
  const o = r.options;
  const faults = Object.entries(r.store.byFault)
    .map(([f, k]) => `${f} ×${k}`)
    .join(', ');
  const crashPoints = r.unplannedExits.filter((e) => e.crashPoint);
  const otherExits = r.unplannedExits.filter((e) => !e.crashPoint);
  const problems = verdictProblems(r);
  const lines = [
    `chaos run, seed ${o.seed}: ${n(o.records)} records over ${o.apps} apps, ${o.instances} instances of each service, ${o.partitions} partitions`,
    `  duration        ${s(r.durationMs)} (start ${s(r.phasesMs.start)}, chaos ${s(r.phasesMs.chaos)}, drain ${s(r.phasesMs.drain)}, audit ${s(r.phasesMs.audit)})`,
    `  kills (SIGKILL) ${describeKills(r.kills)}`,
    `  crash points    ${crashPoints.length ? crashPoints.map((e) => `${e.service} at ${e.crashPoint}`).join(', ') : 'none fired'}`,
    `  other exits     ${otherExits.length ? otherExits.map((e) => `${e.instance} (code ${e.code}, signal ${e.signal})`).join(', ') : 'none'}`,
    `  restarts        broker ${r.restarts.kafka} (down ${s(r.restarts.kafkaDownMs)}), redis ${r.restarts.redis} (down ${s(r.restarts.redisDownMs)})`,
    `  store faults    ${n(r.store.injectedFaults)} of ${n(r.store.requests)} requests${faults ? ` (${faults})` : ''}`,
    `  produced        ${n(a.produced)} records acknowledged (${n(a.onRawTopic)} on the raw topic, ${n(r.produce.retriedSends)} sends retried${a.missingOnRawTopic ? `, ${n(a.missingOnRawTopic)} MISSING from it` : ''})`,
    `  by-app topic    ${n(a.onByAppTopic)} records (read committed)${byAppNote(a.onByAppTopic - a.onRawTopic)}`,
    `  archived        ${n(a.archivedRecords)} records in ${n(a.archives)} archives, ${a.apps.archived} of ${a.apps.produced} apps`,
    `  lost            ${n(a.lost)}${a.lost ? ` (${n(a.lostBySplitter)} before the by-app topic)` : ''}`,
    `  duplicated      ${n(a.duplicated)}${a.duplicated ? ` (${n(a.duplicatedBySplitter)} already on the by-app topic, ${n(a.duplicatedWithinOneArchive)} twice in one archive)` : ''}`,
    `  undecodable     ${a.undecodable.length} archives; ${a.inconsistent.length} inconsistent index entries; ${a.orphanObjects.length} orphan objects; ${a.misrouted} misrouted; ${a.foreignLines} foreign lines`,
    `  peak RSS        ${r.peakRss.map((p) => `${p.service} ${mib(p.peakRssBytes)}`).join(', ')} (VmHWM, highest instance)`,
    `  verdict         ${problems.length ? `FAILED: ${problems.join('; ')}` : 'every record archived exactly once, every archive decodes'}`,
  ];
  if (problems.length) lines.push('', ...details(r));
  return lines.join('\n');
}

/** The splitter's extra or missing copies, which later stages may or may not have repaired. */
function byAppNote(extra: number): string {
  if (extra === 0) return '';
  return extra > 0
    ? `: ${n(extra)} more than the raw topic (splitter duplicates; see "duplicated" for what got through)`
    : `: ${n(-extra)} fewer than the raw topic (see "lost")`;
}

function details(r: ChaosReport): string[] {
  const a = r.audit;
  const out: string[] = [];
  if (a.apps.wrong.length) {
    out.push(`apps with lost or duplicated records (${a.apps.wrong.length}, worst first):`);
    for (const v of a.apps.wrong.slice(0, 15)) {
      out.push(
        `  ${v.app}: produced ${v.produced}, archived ${v.archived}, lost ${v.lost}, duplicated ${v.duplicated}` +
          (v.lostSeqs.length ? `; lost seq ${v.lostSeqs.join(' ')}` : '') +
          (v.duplicatedSeqs.length ? `; duplicated seq ${v.duplicatedSeqs.join(' ')}` : ''),
      );
    }
  }
  if (a.traces.length) {
    out.push('records, copies per stage (raw → by-app → archived) and the segments holding them:');
    for (const t of a.traces.slice(0, 12)) {
      out.push(
        `  seq ${t.seq} (${t.app}): ${t.raw} → ${t.byApp} → ${t.archived}, first wrong at the ${t.stage}; ` +
          `raw ${t.rawAt.join(', ') || 'none'}; by-app ${t.byAppAt.join(', ') || 'none'}; ` +
          `segments ${t.segments.join(', ') || 'none'}`,
      );
    }
  }
  for (const u of a.undecodable.slice(0, 10)) out.push(`  undecodable ${u.key}: ${u.error}`);
  for (const u of a.inconsistent.slice(0, 10)) out.push(`  inconsistent ${u.key}: ${u.problem}`);
  if (a.spoolLeft.length) out.push(`left on the spool: ${a.spoolLeft.slice(0, 10).join(', ')}`);
  const segments = [...new Set(a.traces.flatMap((t) => t.segments))].slice(0, 20);
  const mentions = logsMentioning(r, segments);
  out.push('service logs to look at:');
  if (mentions.length) {
    for (const m of mentions) out.push(`  ${m.file} mentions ${m.segments.join(', ')}`);
  }
  for (const e of r.unplannedExits)
    out.push(`  ${rel(e.logFile)} (${e.instance} exited by itself)`);
  const killed = new Set(r.timeline.map((t) => /SIGKILL (\S+)/.exec(t)?.[1]).filter(Boolean));
  for (const l of r.logs) if (killed.has(l.instance)) out.push(`  ${rel(l.logFile)} (killed)`);
  out.push(
    `  all logs of the run: ${rel(r.options.logDir ?? '.cache/test-logs')}; archives: ${rel(r.bucketDir)}`,
  );
  out.push('timeline:', ...r.timeline.map((t) => `  ${t}`));
  return out;
}

function logsMentioning(r: ChaosReport, segments: string[]) {
  if (segments.length === 0) return [];
  const out: { file: string; segments: string[] }[] = [];
  for (const l of r.logs) {
    let text: string;
    try {
      text = readFileSync(l.logFile, 'utf8');
    } catch {
      continue;
    }
    const hit = segments.filter((seg) => text.includes(seg));
    if (hit.length) out.push({ file: rel(l.logFile), segments: hit });
  }
  return out;
}

const rel = (p: string) => (p.startsWith(REPO) ? relative(REPO, p) : p);
