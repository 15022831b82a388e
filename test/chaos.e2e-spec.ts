import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testInfra } from './chaos/infra';
import { formatReport, verdictProblems } from './chaos/report';
import { ChaosReport, runChaos } from './chaos/run-chaos';
import { ownedKafkaDir } from './support/infra';
import { LOG_DIR } from './support/services';

const SEED = Number(process.env.LOGSPLIT_CHAOS_SEED ?? 20_261_123);

/**
 * The short form of scripts/chaos (docs/chaos.md): while 100,000 records over 200 apps flow,
 * random instances of random services are SIGKILLed, the broker and Redis restart once each and
 * the object store fails a share of its requests. Every record must be archived exactly once.
 * Skipped when KAFKA_BROKERS points at a broker the tests do not own (it cannot be restarted).
 */
(ownedKafkaDir() ? describe : describe.skip)(
  'chaos: kills, restarts and store faults lose and duplicate nothing',
  () => {
    let report: ChaosReport;

    beforeAll(async () => {
      const workDir = mkdtempSync(join(tmpdir(), 'logsplit-chaos-'));
      const infra = await testInfra(workDir);
      try {
        report = await runChaos(
          {
            records: 100_000,
            apps: 200,
            kills: 6,
            crashPoints: 2,
            seed: SEED,
            instances: 2,
            produceMs: 60_000,
            storeFaultRate: 0.1,
            kafkaKill: false,
            drainTimeoutMs: 300_000,
            partitions: 6,
            workDir,
            logDir: LOG_DIR,
            say: (line) => process.stderr.write(`[chaos] ${line}\n`),
          },
          infra,
        );
      } finally {
        await infra.stop();
      }
      writeFileSync(join(workDir, 'report.json'), JSON.stringify(report, null, 2));
      // A clean run keeps only its report; a failed one keeps the spool and the archives to look at.
      if (verdictProblems(report).length === 0) {
        for (const d of ['bucket-mirror', 'spool'])
          rmSync(join(workDir, d), { recursive: true, force: true });
      }
      process.stderr.write(`${formatReport(report)}\nreport: ${join(workDir, 'report.json')}\n`);
    }, 1_200_000);

    it('breaks things as planned: ≥ 5 kills, one broker and one Redis restart, store faults', () => {
      const kills = Object.values(report.kills).reduce((a, b) => a + b, 0);
      expect(kills).toBeGreaterThanOrEqual(5);
      expect(report.restarts).toMatchObject({ kafka: 1, redis: 1 });
      expect(report.store.injectedFaults).toBeGreaterThan(0);
      expect(report.audit.produced).toBe(100_000);
      expect(report.audit.apps.produced).toBeGreaterThanOrEqual(200);
    });

    it('archives every record exactly once, per app, in archives that all decode', () => {
      const a = report.audit;
      expect(report.drained).toBe(true);
      expect(a.undecodable).toEqual([]);
      expect(a.inconsistent).toEqual([]);
      expect(a.misrouted).toBe(0);
      expect(
        a.apps.wrong.map((v) => `${v.app}: lost ${v.lost}, duplicated ${v.duplicated}`),
      ).toEqual([]);
      expect({ lost: a.lost, duplicated: a.duplicated }).toEqual({ lost: 0, duplicated: 0 });
      expect(a.archivedRecords).toBe(a.onRawTopic);
    });
  },
);
