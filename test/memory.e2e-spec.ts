import { audit, AuditResult } from './chaos/audit';
import { addRawMessage, Ledger } from './chaos/ledger';
import { produceWorkload } from './chaos/producer';
import { chaosWorkload } from './chaos/records';
import { scanTopic } from './chaos/topic-scan';
import {
  createTopics,
  pipelineEnv,
  spoolSegments,
  testKafka,
  waitForArchive,
} from './support/pipeline';
import { mib, PeakMemory } from './support/proc-memory';
import { RunningService, startService } from './support/services';

/** Ten times the conservation test's 50,000 records, produced in one go into running services. */
const RECORDS = 500_000;
const APPS = 200;
/** The bound docs/chaos.md states: every service process stays below it under a 10× burst. */
const RSS_BOUND_BYTES = 512 * 1024 * 1024;

/**
 * Memory stays bounded under a burst: the whole backlog lands on the raw topic at once, so every
 * fetch comes back full and every stage runs flat out. Each process's peak resident set (VmHWM,
 * which also covers peaks between samples) must stay below the bound, and nothing may be lost.
 */
describe('memory: a 10× burst of input keeps every service below 512 MiB', () => {
  const p = pipelineEnv({
    LOGSPLIT_SEGMENT_MAX_AGE_MS: '10000',
    LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
    LOGSPLIT_TRACING: 'off',
  });
  const kafka = testKafka();
  const services: RunningService[] = [];
  const memory = new PeakMemory();
  const workload = chaosWorkload(RECORDS, APPS, 1123);
  let result: AuditResult;

  beforeAll(async () => {
    await createTopics(kafka, Object.values(p.topics), 6);
    for (const name of ['splitter', 'compressor', 'uploader'] as const) {
      services.push(await startService(name, p.env));
    }
    const sample = () => services.forEach((s) => memory.sample(s.name, s.id, s.proc.pid));
    const sampler = setInterval(sample, 500);
    const t0 = Date.now();
    try {
      const produced = await produceWorkload({
        kafka,
        topic: p.topics.raw,
        workload,
        durationMs: 0,
        batchSize: 5000,
      });
      const producedMs = Date.now() - t0;
      await waitForArchive(p, produced.acked, 420_000, 1000);
      sample();
      process.stderr.write(
        `memory: ${RECORDS} records over ${APPS} apps produced in ${(producedMs / 1000).toFixed(1)} s, ` +
          `archived in ${((Date.now() - t0) / 1000).toFixed(1)} s; peak RSS ` +
          memory
            .perInstance()
            .map((m) => `${m.service} ${mib(m.peakRssBytes)}`)
            .join(', ') +
          ` (bound ${mib(RSS_BOUND_BYTES)})\n`,
      );
      const raw = new Ledger(workload);
      await scanTopic(kafka, p.topics.raw, (m, partition) => addRawMessage(raw, m, partition));
      result = audit({
        workload,
        produced: produced.acked,
        raw,
        byApp: raw, // no by-app scan here: only the end-to-end counts matter
        bucketDir: p.bucketDir,
        prefix: p.prefix,
        spoolLeft: spoolSegments(p.spoolDir),
      });
    } finally {
      clearInterval(sampler);
    }
  }, 600_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
  }, 60_000);

  it('keeps the peak RSS of every service process below the bound', () => {
    const peaks = memory.perInstance();
    expect(peaks.map((m) => m.service).sort()).toEqual(['compressor', 'splitter', 'uploader']);
    const over = peaks.filter((m) => m.peakRssBytes >= RSS_BOUND_BYTES);
    expect(over.map((m) => `${m.instance}: ${mib(m.peakRssBytes)}`)).toEqual([]);
    expect(Math.max(...peaks.map((m) => m.peakRssBytes))).toBeGreaterThan(0);
  });

  it('archives every record of the burst exactly once, in archives that decode', () => {
    expect(result.produced).toBe(RECORDS);
    expect(result.undecodable).toEqual([]);
    expect(
      result.apps.wrong.map((v) => `${v.app}: lost ${v.lost}, duplicated ${v.duplicated}`),
    ).toEqual([]);
    expect({ lost: result.lost, duplicated: result.duplicated }).toEqual({
      lost: 0,
      duplicated: 0,
    });
    expect(result.archivedRecords).toBe(RECORDS);
  });
});
