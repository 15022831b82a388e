// Least privilege, proven: the whole pipeline (and the demo producer) runs as principals that
// hold only the ACLs docs/deploy.md lists, on a Kafka 4 broker with KRaft's StandardAuthorizer
// (allow.everyone.if.no.acl.found=false; the test's admin is the only super user). Taking one of
// them away makes the service NOT_SERVING with the permission named; restored, nothing is lost.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AclOperationTypes, Kafka } from 'kafkajs';
import { checkHealth } from '@logsplit/common/health/check-health';
import { ensureTopics } from '@logsplit/common';
import { aclEntry, documentedAcls } from './support/documented-acls';
import { ROOT } from './support/infra';
import { SecuredKafka, startSecuredKafka } from './support/secured-kafka';
import {
  archivedRecords,
  createTopicsWith,
  pipelineEnv,
  PipelineEnv,
  testKafka,
  waitFor,
  waitForArchive,
} from './support/pipeline';
import { DIST, RunningService, ServiceName, startService } from './support/services';

const run = promisify(execFile);
jest.setTimeout(300_000);

const SERVICES: ServiceName[] = ['splitter', 'compressor', 'uploader'];
const PRINCIPALS = [...SERVICES, 'demo-producer'];
/** The ACL taken away and given back: the compressor's READ on its consumer group. */
const REVOKED = { principal: 'compressor', resource: 'group', name: 'logsplit-compressor' };

describe('Kafka ACLs: the pipeline as least-privilege principals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logsplit-acl-'));
  let broker: SecuredKafka;
  /** Where and how to connect, without the user (KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, ...). */
  let base: Record<string, string>;
  let admin: Kafka;
  let p: PipelineEnv;
  const services = new Map<ServiceName, RunningService>();

  /** The client settings of user `name` (its password file was written by scripts/kafka). */
  const as = (name: string): Record<string, string> => ({
    ...base,
    KAFKA_SASL_USERNAME: name,
    KAFKA_SASL_PASSWORD_FILE: join(broker.dir, 'secrets', `${name}.password`),
  });

  /** Runs `logsplit produce-demo` as User:demo-producer; resolves with the records it sent. */
  const produceDemo = async (seconds: number): Promise<void> => {
    await run(
      process.execPath,
      [
        join(DIST, 'apps/cli/src/main.js'),
        'produce-demo',
        '--rate',
        '1000',
        '--duration',
        `${seconds}`,
        '--apps',
        '40',
      ],
      { cwd: ROOT, env: { ...process.env, ...p.env, ...as('demo-producer') } },
    );
  };

  const rawRecords = async (): Promise<number> => {
    const a = admin.admin();
    await a.connect();
    try {
      const offsets = await a.fetchTopicOffsets(p.topics.raw);
      return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
    } finally {
      await a.disconnect();
    }
  };

  const health = (name: ServiceName) => checkHealth(`127.0.0.1:${services.get(name)!.healthPort}`);

  beforeAll(async () => {
    const users = ['admin', ...PRINCIPALS].flatMap((u) => [
      '--user',
      `${u}:${Math.random().toString(36).slice(2)}`,
    ]);
    broker = await startSecuredKafka('sasl_ssl', ['--authorizer', 'admin', ...users]);
    base = Object.fromEntries(
      Object.entries(broker.env).filter(([k]) => !/^KAFKA_SASL_(USERNAME|PASSWORD)/.test(k)),
    );
    admin = testKafka(as('admin'));
    // The default names, as in the documented table.
    p = pipelineEnv(
      {
        LOGSPLIT_TOPIC_RAW: 'logs.raw',
        LOGSPLIT_TOPIC_BY_APP: 'logs.by-app',
        LOGSPLIT_TOPIC_DLQ: 'logs.dlq',
        LOGSPLIT_TOPIC_SEGMENTS: 'logs.segments',
        LOGSPLIT_SPLITTER_GROUP: 'logsplit-splitter',
        LOGSPLIT_COMPRESSOR_GROUP: 'logsplit-compressor',
        LOGSPLIT_UPLOADER_GROUP: 'logsplit-uploader',
        LOGSPLIT_SEGMENT_MAX_AGE_MS: '3000',
        LOGSPLIT_UPLOAD_INTERVAL_MS: '1000',
      },
      { dir, kafkaBrokers: base.KAFKA_BROKERS, kafkaSecurity: {} },
    );
    p.topics = {
      raw: 'logs.raw',
      byApp: 'logs.by-app',
      dlq: 'logs.dlq',
      segments: 'logs.segments',
    };
    await createTopicsWith(admin, {
      [p.topics.raw]: 3,
      [p.topics.byApp]: 3,
      [p.topics.dlq]: 1,
      [p.topics.segments]: 2,
    });
    const acls = documentedAcls();
    expect(new Set(acls.map((a) => a.principal))).toEqual(new Set(PRINCIPALS));
    const a = admin.admin();
    await a.connect();
    await a.createAcls({ acl: acls.map(aclEntry) });
    await a.disconnect();
    for (const name of SERVICES)
      services.set(name, await startService(name, { ...p.env, ...as(name) }));
  });

  afterAll(async () => {
    await Promise.all([...services.values()].map((s) => s.stop()));
    await broker?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('archives everything the demo producer sent, each service holding only its listed ACLs', async () => {
    await produceDemo(3);
    const sent = await rawRecords();
    expect(sent).toBeGreaterThan(2_000);
    await waitForArchive(p, sent, 120_000);
    for (const name of SERVICES) expect(await health(name)).toBe('SERVING');
    await new Promise((r) => setTimeout(r, 3_000));
    expect(archivedRecords(p)).toBe(sent);
  });

  it('creates a missing topic only with CREATE on it, naming the permission otherwise', async () => {
    const topic = 'logs.raw-extra';
    const topics = { ...p.topics, raw: topic, partitions: 1, create: true };
    const splitter = testKafka(as('splitter'));
    await expect(ensureTopics(splitter, topics, [topic])).rejects.toThrow(
      `principal lacks CREATE on topic ${topic}`,
    );
    const grant = {
      ...aclEntry({
        principal: 'splitter',
        resource: 'topic',
        pattern: 'literal',
        name: topic,
        operation: 'CREATE',
      }),
    };
    const a = admin.admin();
    await a.connect();
    await a.createAcls({ acl: [grant, { ...grant, operation: AclOperationTypes.DESCRIBE }] });
    await a.disconnect();
    await ensureTopics(splitter, topics, [topic]);
  });

  it('without one listed ACL the service is NOT_SERVING naming it; restored, nothing is lost', async () => {
    const revoked = documentedAcls().filter(
      (a) =>
        a.principal === REVOKED.principal &&
        a.resource === REVOKED.resource &&
        a.name === REVOKED.name,
    );
    expect(revoked).toHaveLength(1);
    const a = admin.admin();
    await a.connect();
    try {
      const entry = aclEntry(revoked[0]);
      await a.deleteAcls({ filters: [entry] });
      await produceDemo(2);
      const compressor = services.get('compressor')!;
      await waitFor(
        'the compressor to name the missing ACL',
        () =>
          /lacks READ on group logsplit-compressor/.test(readFileSync(compressor.logFile, 'utf8'))
            ? true
            : undefined,
        60_000,
      );
      expect(await health('compressor')).toBe('NOT_SERVING');
      await a.createAcls({ acl: [entry] });
    } finally {
      await a.disconnect();
    }
    await waitFor(
      'the compressor SERVING again',
      async () => ((await health('compressor')) === 'SERVING' ? true : undefined),
      60_000,
    );
    const sent = await rawRecords();
    await waitForArchive(p, sent, 120_000);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(archivedRecords(p)).toBe(sent);
  });
});
