import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { KafkaMessage } from 'kafkajs';
import {
  BackpressureError,
  encodeChunkHeaders,
  KafkaBatch,
  KafkaProducerService,
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
} from '@logsplit/common';
import { GzipCodec } from '@logsplit/common/codec';
import { AppendService } from './append.service';
import { PartitionGuard } from './partition-guard';
import { SegmentWriter } from './segment-writer';

const TOPIC = 'by-app';
const PARTITION = 2;
const codec = new GzipCodec(1);

beforeAll(() => {
  Logger.overrideLogger(false);
});

let root: string;
beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'append-service-'))));
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
  service: AppendService;
  /** Replaces the partition lease's fencing check (e.g. to lose it at a given moment). */
  partitionCheck: { fn: () => Promise<void> };
  writer: SegmentWriter;
}

/** One compressor process: its own guard and memory, the shared spool under `root`. */
function compressor(env: Record<string, string> = {}, redisStatus = 'ready'): Rig {
  const cfg = config(env);
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
    { maxBytes: 1 << 20, maxAgeMs: 60_000, fsync: false },
    'test',
  );
  const producer = { send: jest.fn(async () => undefined) } as unknown as KafkaProducerService;
  const guard = new PartitionGuard(cfg, semaphore, layout, new PartitionAssignment());
  const redis = { status: redisStatus } as unknown as Redis;
  const service = new AppendService(
    cfg,
    codec,
    semaphore,
    writer,
    producer,
    new Metrics('compressor', 0),
    guard,
    redis,
  );
  return { service, partitionCheck, writer };
}

/** `n` chunks at offsets first.., spread over `apps` apps, each with 3 records naming it. */
function batch(first: number, n: number, apps = 3): KafkaBatch {
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

describe('AppendService: each chunk appended exactly once', () => {
  it('records the by-app offsets of every block in its manifest line', async () => {
    await compressor().service.appendBatch(batch(10, 9));
    expect(await manifestInputs()).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18]);
    expect(await spoolLines()).toEqual(expected(10, 9));
  });

  it('appends nothing when a new process replays a batch that was durable but not committed', async () => {
    await compressor().service.appendBatch(batch(0, 12));
    await compressor().service.appendBatch(batch(0, 12));
    expect(await spoolLines()).toEqual(expected(0, 12));
  });

  it('appends only the unheld rest of a replay that starts and ends elsewhere', async () => {
    await compressor().service.appendBatch(batch(0, 6));
    await compressor().service.appendBatch(batch(3, 8)); // offsets 3..10
    expect(await spoolLines()).toEqual(expected(0, 11));
    expect(await manifestInputs()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('retries a batch that failed after some blocks were committed without doubling them', async () => {
    const rig = compressor();
    const append = rig.writer.append.bind(rig.writer);
    let calls = 0;
    jest.spyOn(rig.writer, 'append').mockImplementation(async (...args) => {
      const outcome = await append(...args);
      // Fails after its manifest line is written (say, the seal's rename): unknown to memory.
      if (++calls === 2) throw new Error('seal failed');
      return outcome;
    });
    const b = batch(0, 12);
    await expect(rig.service.appendBatch(b)).rejects.toThrow('seal failed');
    expect((await spoolLines()).length).toBeGreaterThanOrEqual(6); // two apps made it
    await rig.service.appendBatch(b); // the transport retries the same batch
    expect(await spoolLines()).toEqual(expected(0, 12));
  });

  it('leaves no visible block when the partition lease is lost before the manifest line', async () => {
    const rig = compressor();
    const data = join(root, 'app-0', 'open', 'slot-0', 'data.log.gz');
    rig.partitionCheck.fn = async () => {
      // Lost between the block's data write and its manifest line, the commit point.
      if (existsSync(data) && statSync(data).size > 0 && !lost++) {
        throw new LeaseLostError('partition:by-app:2', 0, 'taken');
      }
    };
    let lost = 0;
    const b = batch(0, 1, 1);
    await expect(rig.service.appendBatch(b)).rejects.toThrow(LeaseLostError);
    expect(lost).toBe(1);
    expect(await spoolLines()).toEqual([]); // the block's data is a torn tail, not committed
    await rig.service.appendBatch(b);
    expect(await spoolLines()).toEqual(expected(0, 1));
  });
});

describe('AppendService: backpressure', () => {
  it('pauses with reason spool when free space is below LOGSPLIT_SPOOL_MIN_FREE_BYTES', async () => {
    const rig = compressor({ LOGSPLIT_SPOOL_MIN_FREE_BYTES: String(Number.MAX_SAFE_INTEGER) });
    const err = await rig.service.appendBatch(batch(0, 3)).catch((e: unknown) => e);
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
    await expect(rig.service.appendBatch(batch(0, 3))).rejects.toMatchObject({
      name: 'BackpressureError',
      reason: 'spool',
    });
  });

  it('pauses with reason redis, before touching the spool, while Redis is not connected', async () => {
    const rig = compressor({}, 'reconnecting');
    await expect(rig.service.appendBatch(batch(0, 3))).rejects.toMatchObject({
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
    await expect(down.service.appendBatch(batch(0, 3))).rejects.toMatchObject({
      name: 'BackpressureError',
      reason: 'redis',
    });
    const busy = compressor();
    jest.spyOn(busy.writer, 'append').mockRejectedValue(new LockTimeoutError('app:x', 1, 10));
    await expect(busy.service.appendBatch(batch(0, 3))).rejects.toBeInstanceOf(LockTimeoutError);
  });
});
