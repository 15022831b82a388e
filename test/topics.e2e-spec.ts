// Topic creation: the cluster's replication factor unless one is set, and LOGSPLIT_CREATE_TOPICS
// =false turning creation off (the service waits, NOT_SERVING with the missing topic named).
import { ChildProcess } from 'node:child_process';
import { checkHealth } from '@logsplit/common/health/check-health';
import { ensureTopics } from '@logsplit/common';
import type { TopicsConfig } from '@logsplit/common/config';
import { uniqueName } from './support/infra';
import { createTopics, pipelineEnv, testKafka, waitFor } from './support/pipeline';
import { RunningService, startService } from './support/services';

jest.setTimeout(90_000);

const kafka = testKafka();

function topicsConfig(over: Partial<TopicsConfig>): TopicsConfig {
  const t = uniqueName('topics');
  return { raw: t, byApp: t, dlq: t, segments: t, partitions: 2, create: true, ...over };
}

describe('topic creation', () => {
  it('asks for the cluster default replication factor (-1) unless LOGSPLIT_TOPIC_REPLICATION is set', async () => {
    const byDefault = topicsConfig({});
    await ensureTopics(kafka, byDefault);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [md] = (await admin.fetchTopicMetadata({ topics: [byDefault.raw] })).topics;
      expect(md.partitions).toHaveLength(2);
      // The test broker's default.replication.factor is 1 (it has one node).
      expect(md.partitions.every((p) => p.replicas.length === 1)).toBe(true);
    } finally {
      await admin.disconnect();
    }
    // Proof the setting reaches the broker: one node cannot hold two replicas.
    const two = topicsConfig({ replication: 2 });
    await expect(ensureTopics(kafka, two)).rejects.toThrow(
      `creating topic ${two.raw} failed: INVALID_REPLICATION_FACTOR`,
    );
  });

  it('with LOGSPLIT_CREATE_TOPICS=false a missing topic keeps the service up and NOT_SERVING, naming it, until it exists', async () => {
    const p = pipelineEnv({ LOGSPLIT_CREATE_TOPICS: 'false' });
    let out = '';
    const collect = (proc: ChildProcess) => {
      proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      proc.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    };
    const starting = startService('uploader', p.env, { onSpawn: collect, startTimeoutMs: 80_000 });
    let uploader: RunningService | undefined;
    try {
      const reason = await waitFor(
        'the uploader to name the missing topics',
        () => /topic ([^"]*) not found[^"]*LOGSPLIT_CREATE_TOPICS=false/.exec(out)?.[1],
        30_000,
        200,
      );
      expect(reason).toBe(`${p.topics.segments}, ${p.topics.byApp}`);
      const port = /health listening on [^\s"]*:(\d+)/.exec(out)?.[1];
      expect(await checkHealth(`127.0.0.1:${port}`)).toBe('NOT_SERVING');
      expect(await checkHealth(`127.0.0.1:${port}`, 'kafka')).toBe('NOT_SERVING');

      // Created by someone else: the service starts by itself (the retry is at most 30 s away).
      await createTopics(kafka, [p.topics.segments, p.topics.byApp], 1);
      uploader = await starting;
      await waitFor(
        'SERVING',
        async () => ((await checkHealth(`127.0.0.1:${port}`)) === 'SERVING' ? true : undefined),
        15_000,
      );
    } finally {
      uploader ??= await starting.catch(() => undefined);
      await uploader?.stop();
    }
  });
});
