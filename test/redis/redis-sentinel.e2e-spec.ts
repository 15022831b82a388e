import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { checkHealth } from '@logsplit/common/health/check-health';
import { archivedLinesByApp, conservationGaps } from '../support/archive-check';
import {
  archivedRecords,
  createTopics,
  pipelineEnv,
  produceGoodRecords,
  testKafka,
  waitFor,
  waitForArchive,
} from '../support/pipeline';
import { adminClient, RedisProcess, startRedisServer } from '../support/redis-servers';
import { RunningService, startService } from '../support/services';

const MASTER = 'logsplit-test';
/** The sentinel asks clients to log in (REDIS_SENTINEL_PASSWORD). */
const SENTINEL_PASSWORD = 'sentinel-pw-5e0a';
const HALF = 8_000;
const APPS = 80;

/**
 * A primary and a replica watched by redis-sentinel; the services find the primary through the
 * sentinel, which asks them to log in. In the middle of a run the sentinel fails over to the replica: every record is still
 * archived exactly once, and the services end up on the new primary.
 */
describe('Redis Sentinel: a failover in the middle of a run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logsplit-redis-sentinel-'));
  const servers: RedisProcess[] = [];
  const services: RunningService[] = [];
  let sentinel: Redis;

  const primaryPort = async () =>
    Number(((await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)) as string[])[1]);

  beforeAll(async () => {
    const primary = await startRedisServer({ dir });
    const replica = await startRedisServer({ dir, config: [`replicaof 127.0.0.1 ${primary.port}`] }); // prettier-ignore
    const watcher = await startRedisServer({
      dir,
      sentinel: true,
      config: [
        `sentinel monitor ${MASTER} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${MASTER} 2000`,
        `sentinel failover-timeout ${MASTER} 20000`,
        `requirepass ${SENTINEL_PASSWORD}`,
      ],
    });
    servers.push(primary, replica, watcher);
    sentinel = adminClient(watcher.port, { password: SENTINEL_PASSWORD });
    // A failover needs a replica the sentinel knows and that has caught up.
    await waitFor(
      'the sentinel to see an online replica',
      async () => {
        const rows = (await sentinel.call('SENTINEL', 'REPLICAS', MASTER)) as string[][];
        return rows.some((r) => r[r.indexOf('flags') + 1] === 'slave') ? true : undefined;
      },
      30_000,
      200,
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    sentinel?.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
  }, 60_000);

  it('loses and duplicates nothing across SENTINEL FAILOVER', async () => {
    const [primary, replica, watcher] = servers;
    const p = pipelineEnv({
      REDIS_URL: 'redis://ignored-under-sentinel',
      REDIS_SENTINELS: `127.0.0.1:${watcher.port}`,
      REDIS_SENTINEL_MASTER: MASTER,
      REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
      LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
      LOGSPLIT_SEGMENT_MAX_AGE_MS: '3000',
      LOGSPLIT_WRITER_SLOTS: '4',
    });
    const kafka = testKafka();
    await createTopics(kafka, Object.values(p.topics), 3);
    const first = await produceGoodRecords(kafka, p.topics.raw, HALF, APPS, 1);
    for (const name of ['splitter', 'compressor', 'uploader'] as const) {
      services.push(await startService(name, p.env));
    }
    await waitFor('a first part archived', () => (archivedRecords(p) > 0 ? true : undefined), 90_000); // prettier-ignore
    expect(await primaryPort()).toBe(primary.port);

    const t0 = Date.now();
    await sentinel.call('SENTINEL', 'FAILOVER', MASTER);
    const second = await produceGoodRecords(kafka, p.topics.raw, HALF, APPS, 2);
    await waitFor('the replica promoted', async () => ((await primaryPort()) === replica.port ? true : undefined), 30_000, 200); // prettier-ignore
    const switchedMs = Date.now() - t0;

    await waitForArchive(p, 2 * HALF, 180_000, 1000);
    const expected = new Map(first);
    for (const [app, lines] of second) expected.set(app, [...(expected.get(app) ?? []), ...lines]);
    expect(conservationGaps(expected, archivedLinesByApp(p))).toEqual({
      lost: 0,
      duplicated: 0,
      total: 2 * HALF,
    });
    // The services followed the sentinel to the new primary and report SERVING.
    const onNew = adminClient(replica.port);
    const clients = String(await onNew.call('CLIENT', 'LIST'));
    onNew.disconnect();
    for (const name of ['compressor', 'uploader']) {
      expect(clients).toContain(`name=logsplit-${name} `);
    }
    for (const s of services) {
      expect(await checkHealth(`127.0.0.1:${s.healthPort}`)).toBe('SERVING');
    }
    process.stderr.write(
      `sentinel failover: primary switched in ${switchedMs} ms; ${2 * HALF} records, 0 lost, 0 duplicated\n`,
    );
  }, 300_000);
});
