import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Message } from 'kafkajs';
import { checkHealth, watchHealth } from '@logsplit/common/health/check-health';
import { readIndexEntries } from './support/archive';
import { ROOT } from './support/infra';
import { OtlpReceiver, ReceivedSpan } from './support/otlp-receiver';
import { scrape, total } from './support/prometheus';
import { archivedRecords, createTopics, pipelineEnv, testKafka, waitFor } from './support/pipeline';
import { DIST, RunningService, ServiceName, startService } from './support/services';

const run = promisify(execFile);

const APPS = ['obs-a', 'obs-b', 'obs-c'];
const PER_APP = 100;
/** The one record we follow; its producer span is made up, its ids are what we look for. */
const JOURNEY_APP = 'obs-journey';
const PRODUCER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PRODUCER_SPAN_ID = '00f067aa0ba902b7';
const BAD = [
  { value: Buffer.from('{"msg":"no app"}'), reason: 'missing-app-id' },
  { value: Buffer.from('not json'), reason: 'invalid-json' },
  { value: Buffer.from('{"app":"a/b"}'), reason: 'invalid-app-id' },
];
const GOOD = APPS.length * PER_APP + 1;

async function redis(cmd: 'start' | 'stop', dir: string, port?: string): Promise<string> {
  const args = [cmd, '--dir', dir, ...(port ? ['--port', port] : [])];
  const { stdout } = await run(join(ROOT, 'scripts', 'redis'), args, { cwd: ROOT });
  return stdout.trim().split('\n').pop() ?? '';
}

/**
 * Issue #4: one record's story across the three services in traces (by ids, through an OTLP
 * receiver), metrics that add up to the run's records, and gRPC health that follows Redis.
 */
describe('observability: traces, metrics and health of a real pipeline', () => {
  const otlp = new OtlpReceiver();
  const redisDir = mkdtempSync(join(tmpdir(), 'logsplit-obs-redis-'));
  let redisPort = '';
  const kafka = testKafka();
  const services = new Map<ServiceName, RunningService>();
  let p: ReturnType<typeof pipelineEnv>;

  beforeAll(async () => {
    const endpoint = await otlp.start();
    const url = (await redis('start', redisDir)).replace(/^REDIS_URL=/, '');
    redisPort = /:(\d+)$/.exec(url)![1];
    p = pipelineEnv({
      REDIS_URL: url,
      LOGSPLIT_SEGMENT_MAX_AGE_MS: '1000',
      LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
      LOGSPLIT_TRACING: 'on',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      LOGSPLIT_METRICS_APP_LABELS: '2',
    });
    await createTopics(kafka, Object.values(p.topics), 2);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const good: Message[] = APPS.flatMap((app) =>
      Array.from({ length: PER_APP }, (_, i) => ({
        value: Buffer.from(JSON.stringify({ app, i, msg: `line ${i} of ${app}` })),
      })),
    );
    const journey: Message = {
      value: Buffer.from(JSON.stringify({ app: JOURNEY_APP, msg: 'follow me' })),
      headers: { traceparent: `00-${PRODUCER_TRACE_ID}-${PRODUCER_SPAN_ID}-01` },
    };
    await producer.send({
      topic: p.topics.raw,
      acks: -1,
      messages: [
        ...good.slice(0, 150),
        journey,
        ...BAD.map((b) => ({ value: b.value })),
        ...good.slice(150),
      ],
    });
    await producer.disconnect();
    for (const name of ['splitter', 'compressor', 'uploader'] as const) {
      services.set(name, await startService(name, p.env));
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...services.values()].map((s) => s.stop()));
    await redis('stop', redisDir).catch(() => undefined);
    await otlp.stop();
  }, 60_000);

  const health = (name: ServiceName) => `127.0.0.1:${services.get(name)!.healthPort}`;

  it('archives every record (the run the other checks look at)', async () => {
    await waitFor(
      'all good records archived',
      () => {
        const n = archivedRecords(p);
        return n >= GOOD ? n : undefined;
      },
      60_000,
    );
  }, 70_000);

  it('tells one record’s story in spans connected by ids', async () => {
    const find = (what: string, pred: (s: ReceivedSpan) => boolean) =>
      waitFor(what, () => otlp.spans.find(pred), 20_000, 200);

    const batch = await find(
      'splitter.batch linked to the producer span',
      (s) => s.name === 'splitter.batch' && s.links.some((l) => l.spanId === PRODUCER_SPAN_ID),
    );
    expect(batch.service).toBe('splitter');
    expect(batch.links).toContainEqual({ traceId: PRODUCER_TRACE_ID, spanId: PRODUCER_SPAN_ID });

    const chunk = await find(
      'the journey app’s splitter.chunk',
      (s) =>
        s.name === 'splitter.chunk' &&
        s.parentSpanId === batch.spanId &&
        s.attributes['app.id'] === JOURNEY_APP,
    );
    expect(chunk.traceId).toBe(batch.traceId);
    expect(chunk.attributes['logsplit.records']).toBe(1);

    const append = await find(
      'compressor.append continuing the chunk',
      (s) => s.name === 'compressor.append' && s.parentSpanId === chunk.spanId,
    );
    expect(append.service).toBe('compressor');
    expect(append.traceId).toBe(chunk.traceId);
    expect(append.attributes['app.id']).toBe(JOURNEY_APP);
    expect(typeof append.attributes['logsplit.segment_id']).toBe('string');

    const children = (parent: ReceivedSpan) =>
      otlp.spans.filter((s) => s.parentSpanId === parent.spanId).map((s) => s.name);
    const lockWait = await find(
      'compressor.lock-wait under the append',
      (s) => s.name === 'compressor.lock-wait' && s.parentSpanId === append.spanId,
    );
    expect(typeof lockWait.attributes['logsplit.lock.wait_ms']).toBe('number');
    expect(typeof lockWait.attributes['logsplit.lock.slot']).toBe('number');
    expect(children(append).sort()).toEqual([
      'compressor.compress',
      'compressor.lock-wait',
      'compressor.write',
    ]);

    const upload = await find(
      'uploader.segment linked to the append',
      (s) => s.name === 'uploader.segment' && s.links.some((l) => l.spanId === append.spanId),
    );
    expect(upload.service).toBe('uploader');
    expect(upload.links).toContainEqual({ traceId: append.traceId, spanId: append.spanId });
    expect(upload.attributes['logsplit.segment_id']).toBe(append.attributes['logsplit.segment_id']);
    expect(String(upload.attributes['logsplit.object_key'])).toContain(`/${JOURNEY_APP}/`);
    await waitFor(
      'the upload steps',
      () => (children(upload).length >= 4 ? true : undefined),
      10_000,
      200,
    );
    expect(children(upload).sort()).toEqual([
      'uploader.delete',
      'uploader.index',
      'uploader.upload',
      'uploader.verify',
    ]);
    // Log lines written inside a span carry its ids.
    const logLine = readFileSync(services.get('uploader')!.logFile, 'utf8')
      .split('\n')
      .find((l) => l.includes('"uploaded ') && l.includes(`/${JOURNEY_APP}/`));
    expect(JSON.parse(logLine!)).toMatchObject({
      trace_id: upload.traceId,
      span_id: upload.spanId,
    });
    // The segment was sealed by the uploader's pass (idle app), in a span of its own.
    expect(
      otlp
        .named('uploader.seal')
        .some(
          (s) => s.attributes['logsplit.segment_id'] === upload.attributes['logsplit.segment_id'],
        ),
    ).toBe(true);
  }, 60_000);

  it('exports /metrics that parse and add up to the run’s records', async () => {
    const entries = readIndexEntries(p.bucketDir, p.prefix);
    const splitter = await scrape(services.get('splitter')!.metricsPort);
    expect(total(splitter, 'logsplit_records_in_total')).toBe(GOOD + BAD.length);
    expect(total(splitter, 'logsplit_records_out_total')).toBe(GOOD);
    expect(total(splitter, 'logsplit_dlq_records_total')).toBe(BAD.length);
    for (const reason of ['missing-app-id', 'invalid-json', 'invalid-app-id']) {
      expect({ reason, n: total(splitter, 'logsplit_dlq_records_total', { reason }) }).toEqual({
        reason,
        n: 1,
      });
    }
    const lag = splitter.filter(
      (s) => s.name === 'logsplit_consumer_lag' && s.labels.topic === p.topics.raw,
    );
    expect(lag.length).toBeGreaterThan(0);
    expect(lag.every((s) => s.value === 0)).toBe(true);

    const compressor = await scrape(services.get('compressor')!.metricsPort);
    expect(total(compressor, 'logsplit_records_in_total')).toBe(GOOD);
    expect(total(compressor, 'logsplit_records_out_total')).toBe(GOOD);
    expect(total(compressor, 'logsplit_lock_wait_seconds_count')).toBeGreaterThan(0);
    expect(total(compressor, 'logsplit_compression_ratio_count')).toBeGreaterThan(0);
    // LOGSPLIT_METRICS_APP_LABELS=2: four apps, two labels of their own plus "other".
    const appLabels = new Set(
      compressor.filter((s) => s.name === 'logsplit_records_in_total').map((s) => s.labels.app),
    );
    expect(appLabels.size).toBe(3);
    expect(appLabels.has('other')).toBe(true);

    const uploader = await scrape(services.get('uploader')!.metricsPort);
    expect(total(uploader, 'logsplit_records_out_total')).toBe(GOOD);
    expect(total(uploader, 'logsplit_segment_bytes_count')).toBe(entries.length);
    expect(total(uploader, 'logsplit_segment_bytes_sum')).toBe(
      entries.reduce((n, e) => n + e.bytes, 0),
    );
    expect(total(uploader, 'logsplit_upload_errors_total')).toBe(0);
    for (const m of [splitter, compressor, uploader]) {
      expect(m.every((s) => s.labels.service !== undefined)).toBe(true);
    }
  }, 30_000);

  it('reports gRPC health: SERVING, NOT_SERVING without Redis, SERVING again, streamed by Watch', async () => {
    for (const name of ['splitter', 'compressor', 'uploader'] as const) {
      await waitFor(
        `${name} SERVING`,
        async () => ((await checkHealth(health(name))) === 'SERVING' ? true : undefined),
        10_000,
      );
    }
    expect(await checkHealth(health('uploader'), 'store')).toBe('SERVING');
    const watches = (['compressor', 'uploader'] as const).map((n) => watchHealth(health(n)));
    try {
      for (const w of watches) await w.next('SERVING', 5_000);
      await redis('stop', redisDir);
      for (const w of watches) await w.next('NOT_SERVING', 15_000);
      for (const name of ['compressor', 'uploader'] as const) {
        expect(await checkHealth(health(name))).toBe('NOT_SERVING');
        expect(await checkHealth(health(name), 'redis')).toBe('NOT_SERVING');
        expect(await checkHealth(health(name), 'kafka')).toBe('SERVING');
      }
      // The splitter does not need Redis.
      expect(await checkHealth(health('splitter'))).toBe('SERVING');

      await redis('start', redisDir, redisPort);
      for (const w of watches) await w.next('SERVING', 20_000);
      expect(await checkHealth(health('compressor'))).toBe('SERVING');
      expect(await checkHealth(health('uploader'))).toBe('SERVING');
      for (const w of watches) expect(w.seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
    } finally {
      for (const w of watches) w.cancel();
    }
  }, 60_000);

  it('goes NOT_SERVING when shutting down, before the server goes away', async () => {
    const watch = watchHealth(health('splitter'));
    try {
      await watch.next('SERVING', 5_000);
      await services.get('splitter')!.stop();
      services.delete('splitter');
      expect(watch.seen).toEqual(['SERVING', 'NOT_SERVING']);
    } finally {
      watch.cancel();
    }
  }, 40_000);

  it('answers the probe command as compose healthchecks run it', async () => {
    const probe = join(DIST, 'scripts', 'health-probe.js');
    const { stdout } = await run(process.execPath, [probe, health('compressor')]);
    expect(stdout.trim()).toBe('SERVING');
    const down = await run(process.execPath, [probe, '127.0.0.1:1', '--timeout-ms', '500']).catch(
      (e: { code: number; stdout: string }) => e,
    );
    expect('code' in down && down.code).toBe(1);
  }, 20_000);
});
