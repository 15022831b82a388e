import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The splitter's in-process cost alone (app id extraction, splitBatch, and encoding the chunks as
 * produce requests) on records of a workload file, for one or more builds: `node
 * <dist>/bench/micro-split.js <workload.jsonl> <dist>...`. Best of 5 rounds, so a busy machine's
 * noise shows less. A build with the one-pass produce encoder (libs/kafkajs-patches, or
 * apps/splitter/src in older builds) encodes with it, as its splitter process does; an older one
 * with kafkajs' own encoder.
 */
interface Chunk {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}
interface SplitterModules {
  createAppIdExtractor: (c: { source: 'json'; jsonPath: string; pattern: string }) => {
    extract(r: unknown): unknown;
  };
  splitBatch: (input: unknown, opts: unknown) => { chunks: Chunk[] };
}
interface Request {
  encode: () => Promise<unknown>;
}
type ProduceV3 = (args: object) => Request;
type Frame = (r: { correlationId: number; clientId: string; request: Request }) => Promise<unknown>;
interface EncoderModule {
  produceRequestV3: (internals: object) => ProduceV3;
  frameRequest: (internals: object) => Frame;
}

// A build chosen at run time: a dynamic require is the point.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = (path: string) => require(path) as SplitterModules;

const PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

/** The build's produce request encoder and framing, or kafkajs' own for a build without one. */
function encoderOf(dist: string): { v3: ProduceV3; frame: Frame; name: string } {
  const kafkajs = (p: string): unknown => load(`kafkajs/src/${p}`);
  const v3 = kafkajs('protocol/requests/produce/v3/request') as ProduceV3;
  const frame = kafkajs('protocol/request') as Frame;
  const src = ['libs/kafkajs-patches/src', 'apps/splitter/src']
    .map((dir) => join(dist, dir))
    .find((dir) => existsSync(join(dir, 'produce-encoder.js')));
  if (!src) return { v3, frame, name: 'kafkajs' };
  const file = join(src, 'produce-encoder.js');
  const own = load(file) as unknown as EncoderModule;
  const internals = {
    Encoder: kafkajs('protocol/encoder'),
    Long: kafkajs('utils/long'),
    crc32C: (load(join(src, 'crc32c.js')) as unknown as { crc32c: unknown }).crc32c,
    produceApiKey: (kafkajs('protocol/requests/apiKeys') as { Produce: number }).Produce,
    produceV3: v3,
  };
  return {
    v3: own.produceRequestV3(internals),
    frame: own.frameRequest(internals),
    name: 'one-pass',
  };
}

/** Chunks as one produce request per batch, six partitions, as the splitter's transaction sends them. */
function requestOf(chunks: Chunk[]): object {
  const partitions = Array.from({ length: 6 }, (_, partition) => ({
    partition,
    firstSequence: 0,
    messages: chunks.filter((_, i) => i % 6 === partition),
  }));
  return {
    acks: -1,
    timeout: 30_000,
    transactionalId: 'splitter-raw-0',
    producerId: 1000,
    producerEpoch: 0,
    topicData: [{ topic: 'logs.by-app', partitions }],
  };
}

async function main(): Promise<void> {
  const [file, ...dists] = process.argv.slice(2);
  const values = readFileSync(file)
    .toString('latin1')
    .split('\n')
    .filter(Boolean)
    .slice(0, 100_000)
    .map((l) => Buffer.from(l, 'latin1'));
  const bytes = values.reduce((n, b) => n + b.length, 0);
  const records = values.map((value, i) => ({
    key: null,
    value,
    headers: {},
    offset: String(i),
    timestamp: '1700000000000',
  }));
  for (const dist of dists) {
    const src = join(resolve(dist), 'apps/splitter/src');
    const { createAppIdExtractor } = load(join(src, 'app-id.js'));
    const { splitBatch } = load(join(src, 'split-batch.js'));
    const extractor = createAppIdExtractor({ source: 'json', jsonPath: 'app', pattern: PATTERN });
    const encoder = encoderOf(resolve(dist));
    let extract = 0;
    let split = 0;
    let encode = 0;
    for (let round = 0; round < 5; round++) {
      let t = performance.now();
      for (const r of records) extractor.extract(r);
      extract = Math.max(extract, bytes / 1e6 / ((performance.now() - t) / 1000));
      t = performance.now();
      const batches: Chunk[][] = [];
      for (let i = 0; i < records.length; i += 5000) {
        const { chunks } = splitBatch(
          { topic: 't', partition: 0, records: records.slice(i, i + 5000) },
          { extractor, pattern: PATTERN, maxRecordBytes: 524288, maxChunkBytes: 900 * 1024 },
        );
        batches.push(chunks);
      }
      split = Math.max(split, bytes / 1e6 / ((performance.now() - t) / 1000));
      const requests = batches.map(requestOf);
      t = performance.now();
      for (const r of requests) {
        await encoder.frame({ correlationId: 1, clientId: 'bench', request: encoder.v3(r) });
      }
      encode = Math.max(encode, bytes / 1e6 / ((performance.now() - t) / 1000));
    }
    process.stdout.write(
      `${dist}: extract ${extract.toFixed(0)} MB/s, splitBatch ${split.toFixed(0)} MB/s, ` +
        `produce encoding (${encoder.name}) ${encode.toFixed(0)} MB/s (${records.length} records)\n`,
    );
  }
}

void main();
