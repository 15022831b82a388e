import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Logger } from '@nestjs/common';
import { KafkaMessage, Message } from 'kafkajs';
import {
  BackpressureError,
  DLQ_HEADERS,
  encodeChunkHeaders,
  KafkaBatch,
  Lease,
  LeaseLostError,
  LeaseSemaphore,
  listDirs,
  loadConfig,
  LockTimeoutError,
  Metrics,
  PartitionAssignment,
  readSegment,
  SegmentState,
  SpoolLayout,
  StageEvents,
  GzipCodec,
} from '@logsplit/common';
import { AppendController, Drainers } from './append.controller';
import { SpoolRoom } from './append-backpressure';
import { AppendRunner } from './append-runner';
import { BlockAppender } from './block-appender';
import { ChunkIntake } from './chunk-intake';
import { Gathering } from './gathering';
import { GatheringClock } from './gathering-clock';
import { OffsetCommitter } from './offset-committer';
import { PartitionGuard } from './partition-guard';
import { SegmentAnnouncer } from './segment-announcer';
import { SegmentWriter } from './segment-writer';

const TOPIC = 'by-app';
const PARTITION = 2;
const codec = new GzipCodec(1);
const quiet = { log: () => {}, warn: () => {}, error: () => {} };

beforeAll(() => {
  Logger.overrideLogger(false);
});

let root: string;
beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'append-controller-'))));
afterEach(() => rmSync(root, { recursive: true, force: true }));

function config(env: Record<string, string> = {}) {
  return loadConfig('compressor', {
    LOGSPLIT_SPOOL_DIR: root,
    LOGSPLIT_FSYNC: 'false',
    LOGSPLIT_SPOOL_MIN_FREE_BYTES: '0',
    LOGSPLIT_MAX_MEMBER_BYTES: '1024',
    LOGSPLIT_TOPIC_BY_APP: TOPIC,
    ...env,
  });
}

/** A lease that stays held unless the test says otherwise. */
function lease(resource: string, assertHeld = async () => {}): Lease {
  return {
    resource,
    slot: 0,
    fence: 1,
    waitedMs: 0,
    isHeld: () => true,
    assertHeld: jest.fn(assertHeld),
    release: jest.fn(async () => true),
  } as unknown as Lease;
}

interface Rig {
  controller: AppendController;
  /** Appends everything gathered and commits, as the transport's drain on shutdown does. */
  settle: () => Promise<void>;
  /** Replaces the partition lease's fencing check (e.g. to lose it at a given moment). */
  partitionCheck: { fn: () => Promise<void> };
  writer: SegmentWriter;
  /** Messages produced: dead letters and segment events. */
  sent: { topic: string; messages: Message[] }[];
  producer: { send: jest.Mock };
}

/** One compressor process, its roles wired as the module wires them; the spool under `root`. */
function compressor(env: Record<string, string> = {}, redisStatus = 'ready'): Rig {
  const cfg = config(env);
  const { compressor: opts, segments } = cfg;
  const layout = new SpoolLayout(root);
  const partitionCheck = { fn: async () => {} };
  const semaphore = {
    acquire: jest.fn(async (resource: string) =>
      resource.startsWith('partition:')
        ? lease(resource, () => partitionCheck.fn())
        : lease(resource),
    ),
    tryAcquire: jest.fn(async () => undefined),
  } as unknown as LeaseSemaphore;
  const writer = new SegmentWriter(
    layout,
    codec,
    {
      maxBytes: env.LOGSPLIT_SEGMENT_MAX_BYTES ? segments.maxBytes : 1 << 20,
      maxAgeMs: 60_000,
      fsync: false,
    },
    'test',
  );
  const sent: Rig['sent'] = [];
  const producer = { send: jest.fn(async (r: Rig['sent']) => void sent.push(...r)) };
  const events = new StageEvents(new Metrics('compressor', 0), quiet);
  const guard = new PartitionGuard(cfg, semaphore, layout, new PartitionAssignment());
  const committer = new OffsetCommitter(new SegmentAnnouncer(producer, 'segments', events), events);
  const appender = new BlockAppender(codec, semaphore, writer, events, {
    ...segments,
    ...opts,
  });
  const runner = new AppendRunner(opts.concurrency, appender, committer, events);
  const gathering = new Gathering(opts, runner, committer);
  const clock = new GatheringClock(opts, gathering, runner, committer, guard, events);
  const drainers: Drainers = [];
  const controller = new AppendController(
    new SpoolRoom(root, opts.spoolMinFreeBytes, { status: redisStatus }),
    guard,
    new ChunkIntake(producer, 'dlq', events),
    gathering,
    runner,
    committer,
    clock,
    new PartitionAssignment(),
    drainers,
  );
  controller.onModuleInit();
  running.push(controller);
  const settle = () => drainers[0](() => false);
  return { controller, settle, partitionCheck, writer, sent, producer };
}

const running: AppendController[] = [];
afterEach(() => running.splice(0).forEach((c) => c.onApplicationShutdown()));

/** `n` chunks at offsets first.., spread over `apps` apps, each with 3 records naming it. */
function batch(first: number, n: number, apps = 3, commits: string[] = []): KafkaBatch {
  const messages: KafkaMessage[] = [];
  for (let i = 0; i < n; i++) {
    const offset = first + i;
    const app = `app-${offset % apps}`;
    const lines = [0, 1, 2].map((r) => `{"app":"${app}","chunk":${offset},"r":${r}}`);
    messages.push({
      key: Buffer.from(app),
      value: Buffer.from(lines.join('\n') + '\n'),
      headers: encodeChunkHeaders({
        app,
        records: 3,
        source: { topic: 'raw', partition: 0, firstOffset: '0', lastOffset: '2' },
        minTime: 1,
        maxTime: 2,
      }),
      offset: String(offset),
      timestamp: '0',
      attributes: 0,
      size: 0,
    } as unknown as KafkaMessage);
  }
  return {
    topic: TOPIC,
    partition: PARTITION,
    messages,
    nextOffset: String(first + n),
    commit: async (offset) => void commits.push(offset),
    heartbeat: async () => {},
    isStale: () => false,
  };
}

/** Every record line on the spool (open and sealed), decoded block by block. */
async function spoolLines(): Promise<string[]> {
  const layout = new SpoolLayout(root);
  const out: string[] = [];
  for (const app of await listDirs(root)) {
    const dirs = [
      ...(await listDirs(layout.openRoot(app))).map((d) => join(layout.openRoot(app), d)),
      ...(await listDirs(layout.sealedRoot(app))).map((d) => layout.sealedDir(app, d)),
    ];
    for (const dir of dirs) {
      const s = (await readSegment(dir)) as SegmentState;
      if (s.entries.length === 0) continue;
      const data = readFileSync(s.dataPath);
      for (const e of s.entries) {
        const text = gunzipSync(data.subarray(e.offset, e.offset + e.length)).toString('utf8');
        out.push(...text.slice(0, -1).split('\n'));
      }
    }
  }
  return out.sort();
}

/** The lines chunks first..first+n-1 of `batch` hold. */
function expected(first: number, n: number): string[] {
  return batch(first, n)
    .messages.flatMap((m) => m.value!.toString('utf8').slice(0, -1).split('\n'))
    .sort();
}

/** Inputs named by the manifests: by-app offsets per manifest line. */
async function manifestInputs(): Promise<number[]> {
  const layout = new SpoolLayout(root);
  const offsets: number[] = [];
  for (const app of await listDirs(root)) {
    for (const d of await listDirs(layout.openRoot(app))) {
      for (const e of (await readSegment(join(layout.openRoot(app), d)))!.entries) {
        expect(e.input).toMatchObject({ topic: TOPIC, partition: PARTITION });
        offsets.push(...e.input!.offsets);
      }
    }
  }
  return offsets.sort((a, b) => a - b);
}

describe('AppendController: each chunk appended exactly once', () => {
  it('records the by-app offsets of every block in its manifest line', async () => {
    const rig = compressor();
    await rig.controller.handle(batch(10, 9));
    await rig.settle();
    expect(await manifestInputs()).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18]);
    expect(await spoolLines()).toEqual(expected(10, 9));
  });

  it('gathers an app across batches into one block', async () => {
    const rig = compressor({ LOGSPLIT_MAX_MEMBER_BYTES: String(1 << 20) });
    await rig.controller.handle(batch(0, 6));
    await rig.controller.handle(batch(6, 6));
    await rig.settle();
    expect(await spoolLines()).toEqual(expected(0, 12));
    const layout = new SpoolLayout(root);
    const entries = (await readSegment(layout.openDir('app-0', 0)))!.entries;
    expect(entries.map((e) => e.input!.offsets)).toEqual([[0, 3, 6, 9]]);
  });

  it('commits only the finished prefix while apps of the partition are still gathered', async () => {
    // app-0's chunks are big enough for a block at once; app-1 and app-2 linger.
    const rig = compressor({ LOGSPLIT_BLOCK_BYTES: '1024', LOGSPLIT_BLOCK_LINGER_MS: '600000' });
    const commits: string[] = [];
    const b = batch(0, 30, 3, commits);
    const first = b.messages[0];
    first.value = Buffer.concat([first.value!, Buffer.from(`${'x'.repeat(2000)}\n`)]);
    await rig.controller.handle(b);
    await waitUntil(() => commits.length > 0 || undefined);
    // Offset 1 (app-1) is not durable yet: nothing past it may be committed.
    expect(commits).toEqual(['1']);
    await rig.settle();
    expect(commits.at(-1)).toBe('30');
    expect((await spoolLines()).length).toBe(91);
  });

  it('appends everything of a partition that went quiet without waiting out the linger', async () => {
    const rig = compressor({ LOGSPLIT_BLOCK_LINGER_MS: '600000', LOGSPLIT_BLOCK_IDLE_MS: '200' });
    const commits: string[] = [];
    await rig.controller.handle(batch(0, 6, 3, commits));
    expect(await spoolLines()).toEqual([]); // small and young: gathered
    await waitUntil(() => (commits.at(-1) === '6' ? true : undefined));
    expect(await spoolLines()).toEqual(expected(0, 6));
  });

  it('takes a batch fetched again (rebalance kept the partition) in only once', async () => {
    const rig = compressor();
    await rig.controller.handle(batch(0, 6));
    await rig.controller.handle(batch(0, 9)); // from the committed offset again
    await rig.settle();
    expect(await spoolLines()).toEqual(expected(0, 9));
  });

  it('appends nothing when a new process replays a batch that was durable but not committed', async () => {
    const first = compressor();
    await first.controller.handle(batch(0, 12));
    await first.settle();
    const second = compressor();
    await second.controller.handle(batch(0, 12));
    await second.settle();
    expect(await spoolLines()).toEqual(expected(0, 12));
  });

  it('appends only the unheld rest of a replay that starts and ends elsewhere', async () => {
    const first = compressor();
    await first.controller.handle(batch(0, 6));
    await first.settle();
    const second = compressor();
    await second.controller.handle(batch(3, 8)); // offsets 3..10
    await second.settle();
    expect(await spoolLines()).toEqual(expected(0, 11));
    expect(await manifestInputs()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('retries an append that failed after its block was committed without doubling it', async () => {
    const rig = compressor();
    const append = rig.writer.append.bind(rig.writer);
    let calls = 0;
    jest.spyOn(rig.writer, 'append').mockImplementation(async (...args) => {
      const outcome = await append(...args);
      // Fails after its manifest line is written (say, the seal's rename): unknown to memory.
      if (++calls === 2) throw new Error('seal failed');
      return outcome;
    });
    await rig.controller.handle(batch(0, 12));
    await rig.settle(); // the failed app is retried
    expect(calls).toBeGreaterThan(2);
    expect(await spoolLines()).toEqual(expected(0, 12));
  });

  it('stops taking batches of a partition while an append keeps failing, then resumes', async () => {
    const rig = compressor();
    const append = rig.writer.append.bind(rig.writer);
    const spy = jest.spyOn(rig.writer, 'append').mockRejectedValue(new Error('disk gone'));
    await rig.controller.handle(batch(0, 3));
    await rig.settle();
    await expect(rig.controller.handle(batch(3, 3))).rejects.toThrow('disk gone');
    spy.mockImplementation(append);
    await rig.controller.handle(batch(3, 3)); // the transport's retry
    await rig.settle();
    expect(await spoolLines()).toEqual(expected(0, 6));
  });

  it('leaves no visible block when the partition lease is lost before the manifest line', async () => {
    const rig = compressor({ LOGSPLIT_BLOCK_LINGER_MS: '0' });
    const data = join(root, 'app-0', 'open', 'slot-0', 'data.log.gz');
    rig.partitionCheck.fn = async () => {
      // Lost between the block's data write and its manifest line, the commit point.
      if (existsSync(data) && statSync(data).size > 0 && !lost++) {
        throw new LeaseLostError('partition:by-app:2', 0, 'taken');
      }
    };
    let lost = 0;
    await rig.controller.handle(batch(0, 1, 1));
    await waitUntil(() => lost || undefined);
    expect(await spoolLines()).toEqual([]); // the block's data is a torn tail, not committed
    await rig.settle();
    expect(await spoolLines()).toEqual(expected(0, 1));
  });
});

describe('AppendController: segment events', () => {
  it('announces a sealed segment only once the offsets that fill it are committed', async () => {
    const rig = compressor({ LOGSPLIT_SEGMENT_MAX_BYTES: '1024', LOGSPLIT_BLOCK_LINGER_MS: '0' });
    const commits: string[] = [];
    const committedAtAnnounce: (string | undefined)[] = [];
    rig.producer.send.mockImplementation(async (r: Rig['sent']) => {
      if (r[0].topic === 'segments') committedAtAnnounce.push(commits.at(-1));
      rig.sent.push(...r);
    });
    const b = batch(0, 3, 1, commits);
    // Incompressible: the block outgrows the segment's 1 KiB and seals it.
    b.messages[0].value = Buffer.from(`${randomBytes(2048).toString('hex')}\n`);
    await rig.controller.handle(b);
    await rig.settle();
    const announced = rig.sent.filter((r) => r.topic === 'segments');
    expect(announced.length).toBeGreaterThan(0);
    expect(committedAtAnnounce).toEqual(announced.map(() => '3'));
  });

  it('sends a chunk that is not valid to the dead-letter topic and commits past it', async () => {
    const rig = compressor();
    const commits: string[] = [];
    const b = batch(0, 3, 3, commits);
    b.messages[1].key = Buffer.from('another-app');
    await rig.controller.handle(b);
    await rig.settle();
    const dead = rig.sent.filter((r) => r.topic === 'dlq').flatMap((r) => r.messages);
    expect(dead.map((m) => m.headers?.[DLQ_HEADERS.sourceOffset])).toEqual(['1']);
    expect(commits.at(-1)).toBe('3');
    expect((await spoolLines()).length).toBe(6);
  });
});

describe('AppendController: backpressure', () => {
  it('pauses with reason spool when free space is below LOGSPLIT_SPOOL_MIN_FREE_BYTES', async () => {
    const rig = compressor({ LOGSPLIT_SPOOL_MIN_FREE_BYTES: String(Number.MAX_SAFE_INTEGER) });
    const err = await rig.controller.handle(batch(0, 3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackpressureError);
    expect(err).toMatchObject({ reason: 'spool' });
    expect((err as Error).message).toMatch(/LOGSPLIT_SPOOL_MIN_FREE_BYTES/);
    expect(await spoolLines()).toEqual([]);
  });

  it('maps ENOSPC from a write to reason spool', async () => {
    const rig = compressor();
    jest.spyOn(rig.writer, 'append').mockRejectedValue(
      Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        path: join(root, 'x'),
      }),
    );
    await rig.controller.handle(batch(0, 3));
    await rig.settle();
    await expect(rig.controller.handle(batch(3, 3))).rejects.toMatchObject({
      name: 'BackpressureError',
      reason: 'spool',
    });
  });

  it('pauses with reason redis, before touching the spool, while Redis is not connected', async () => {
    const rig = compressor({}, 'reconnecting');
    await expect(rig.controller.handle(batch(0, 3))).rejects.toMatchObject({
      name: 'BackpressureError',
      reason: 'redis',
      message: expect.stringMatching(/Redis is unreachable.*reconnecting/) as string,
    });
    expect(await listDirs(root)).toEqual([]);
  });

  it('maps a lease wait that failed on Redis errors to reason redis, a busy slot not', async () => {
    const down = compressor();
    jest
      .spyOn(down.writer, 'append')
      .mockRejectedValue(new LockTimeoutError('app:x', 1, 10, new Error('Connection is closed.')));
    await down.controller.handle(batch(0, 3));
    await down.settle();
    await expect(down.controller.handle(batch(3, 3))).rejects.toMatchObject({
      name: 'BackpressureError',
      reason: 'redis',
    });
    const busy = compressor();
    jest.spyOn(busy.writer, 'append').mockRejectedValue(new LockTimeoutError('app:x', 1, 10));
    await busy.controller.handle(batch(0, 3));
    await busy.settle();
    await expect(busy.controller.handle(batch(3, 3))).rejects.toBeInstanceOf(LockTimeoutError);
  });

  it('waits for appends while more than LOGSPLIT_COMPRESSOR_BUFFER_BYTES are gathered', async () => {
    const rig = compressor({ LOGSPLIT_COMPRESSOR_BUFFER_BYTES: String(1 << 20) });
    const big = batch(0, 1, 1);
    big.messages[0].value = Buffer.alloc(3 << 19, 'x\n'); // 1.5 MiB of one app
    const append = jest.spyOn(rig.writer, 'append');
    await rig.controller.handle(big);
    expect(append).toHaveBeenCalled(); // appended before the call returned, not lingering
  });
});

async function waitUntil<T>(probe: () => T | undefined, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
