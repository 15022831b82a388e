import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { encodeChunkHeaders, envSchema } from '@logsplit/common';
import { ROOT } from './support/infra';
import {
  archivedRecords,
  createTopics,
  PipelineEnv,
  pipelineEnv,
  testKafka,
  waitFor,
  waitForArchive,
} from './support/pipeline';
import { parsePrometheus } from './support/prometheus';
import { RunningService, startService } from './support/services';

const run = promisify(execFile);
const PARTITIONS = 3;
const CHUNKS = 30;
const PER_CHUNK = 20;
const SHUTDOWN_TIMEOUT_MS = 8_000;

/**
 * Backpressure and bounded shutdown, with a compressor whose Redis is unreachable (a port where
 * nothing listens, later a private Redis started there): it pauses the partitions it cannot
 * write, says so in its log and metrics, resumes by itself once Redis answers, and on SIGTERM
 * exits within LOGSPLIT_SHUTDOWN_TIMEOUT_MS without committing the batch it could not write.
 */
describe('backpressure and graceful shutdown', () => {
  const kafka = testKafka();
  const services: RunningService[] = [];
  const redisDirs: string[] = [];

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    for (const dir of redisDirs) await redis('stop', dir, ['--clean']).catch(() => undefined);
  }, 60_000);

  /** A pipeline whose Redis is a free port with no server (yet); chunks already on by-app. */
  async function stuckPipeline() {
    const port = await freePort();
    const p = pipelineEnv({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      LOGSPLIT_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LOGSPLIT_LOCK_WAIT_TIMEOUT_MS: '1000',
      LOGSPLIT_SEGMENT_MAX_AGE_MS: '2000',
      LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
    });
    await createTopics(kafka, Object.values(p.topics), PARTITIONS);
    await produceChunks(p);
    const redisDir = join(dirname(p.spoolDir), 'redis');
    redisDirs.push(redisDir);
    const compressor = await startService('compressor', p.env);
    services.push(compressor);
    await waitFor('the compressor to pause for Redis', () => pausedLine(compressor), 60_000);
    return { p, port, redisDir, compressor };
  }

  it('pauses for Redis in the log and /metrics, and resumes by itself when Redis is back', async () => {
    const { port, redisDir, compressor } = await stuckPipeline();
    expect(pausedLine(compressor)).toMatch(/\(reason: redis\)/);
    const paused = await metrics(compressor);
    expect(paused.filter((s) => s.name === 'logsplit_consumer_paused' && s.value === 1)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: expect.objectContaining({ reason: 'redis' }) }),
      ]),
    );
    expect(pauses(paused)).toBeGreaterThanOrEqual(1);

    await redis('start', redisDir, ['--port', String(port)]);
    const resumed = await waitFor(
      'the compressor to resume',
      () =>
        /resumed \S+\[\d+\] after (\d+) ms paused \(reason: redis\)/.exec(log(compressor)) ??
        undefined,
      60_000,
    );
    expect(Number(resumed[1])).toBeGreaterThan(0);
    await waitFor(
      'no partition paused in /metrics',
      async () => {
        const m = await metrics(compressor);
        const still = m.filter((s) => s.name === 'logsplit_consumer_paused' && s.value !== 0);
        return still.length === 0 ? m : undefined;
      },
      60_000,
    );
    process.stderr.write(`shutdown: paused for Redis, resumed after ${resumed[1]} ms\n`);
  }, 180_000);

  it('exits within the shutdown timeout while stuck, and leaves the batch uncommitted', async () => {
    const { p, port, redisDir, compressor } = await stuckPipeline();
    const t0 = Date.now();
    compressor.proc.kill('SIGTERM');
    const code = await compressor.exited;
    const tookMs = Date.now() - t0;
    // At the limit the process exits whatever is still running; allow for signal delivery.
    expect(tookMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2_000);
    expect(log(compressor)).toMatch(/not committed \(shutting down\)/);
    process.stderr.write(`shutdown: stuck compressor exited (code ${code}) in ${tookMs} ms\n`);

    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({
      groupId: p.env.LOGSPLIT_COMPRESSOR_GROUP,
      topics: [p.topics.byApp],
    });
    await admin.disconnect();
    expect(offsets.partitions.map((x) => x.offset)).toEqual(offsets.partitions.map(() => '-1'));

    // A later compressor, with Redis back, archives every record of what was left: once.
    await redis('start', redisDir, ['--port', String(port)]);
    services.push(await startService('compressor', p.env), await startService('uploader', p.env));
    await waitForArchive(p, CHUNKS * PER_CHUNK, 120_000);
    expect(archivedRecords(p)).toBe(CHUNKS * PER_CHUNK);
  }, 240_000);

  it('keeps the shutdown timeout below the orchestrators’ grace periods', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<
        string,
        { stop_grace_period?: string; environment?: Record<string, string> }
      >;
    };
    const fallback = envSchema.shape.LOGSPLIT_SHUTDOWN_TIMEOUT_MS.parse(undefined);
    for (const name of ['splitter', 'compressor', 'uploader']) {
      const s = compose.services[name];
      const limitMs = Number(s.environment?.LOGSPLIT_SHUTDOWN_TIMEOUT_MS ?? fallback);
      // Compose's default grace period is 10 s.
      expect(seconds(s.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(limitMs);
      const k8s = readFileSync(join(ROOT, 'deploy/k8s/base', `${name}.yaml`), 'utf8');
      const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(k8s)?.[1] ?? 30);
      const config = parse(readFileSync(join(ROOT, 'deploy/k8s/base/config.yaml'), 'utf8')) as {
        data: Record<string, string>;
      };
      expect(grace * 1000).toBeGreaterThan(
        Number(config.data.LOGSPLIT_SHUTDOWN_TIMEOUT_MS ?? fallback),
      );
    }
  });
});

async function produceChunks(p: PipelineEnv): Promise<void> {
  const producer = testKafka().producer({ idempotent: true });
  await producer.connect();
  const messages = Array.from({ length: CHUNKS }, (_, c) => {
    const app = `app-${c % 5}`;
    const lines = Array.from(
      { length: PER_CHUNK },
      (_x, i) => `{"app":"${app}","c":${c},"i":${i}}`,
    );
    return {
      key: app,
      partition: c % PARTITIONS,
      value: Buffer.from(lines.join('\n') + '\n'),
      headers: encodeChunkHeaders({
        app,
        records: PER_CHUNK,
        source: {
          topic: 'raw',
          partition: c % PARTITIONS,
          firstOffset: String(c),
          lastOffset: String(c),
        },
        minTime: 1_700_000_000_000 + c,
        maxTime: 1_700_000_000_000 + c,
      }),
    };
  });
  await producer.send({ topic: p.topics.byApp, acks: -1, messages });
  await producer.disconnect();
}

const log = (s: RunningService) => readFileSync(s.logFile, 'utf8');
const pausedLine = (s: RunningService) =>
  /paused \S+\[\d+\] \(reason: [a-z]+\)[^"]*/.exec(log(s))?.[0];

async function metrics(s: RunningService) {
  const res = await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`);
  return parsePrometheus(await res.text());
}

const pauses = (samples: ReturnType<typeof parsePrometheus>) =>
  samples
    .filter((s) => s.name === 'logsplit_consumer_pauses_total' && s.labels.reason === 'redis')
    .reduce((n, s) => n + s.value, 0);

async function redis(cmd: 'start' | 'stop', dir: string, args: string[] = []) {
  await run(join(ROOT, 'scripts', 'redis'), [cmd, '--dir', dir, ...args], { cwd: ROOT });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function seconds(duration: string): number {
  const m = /^(\d+)(s|m)$/.exec(duration);
  if (!m) throw new Error(`unexpected duration ${duration}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}
