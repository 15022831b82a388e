import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The splitter's in-process cost alone (app id extraction, then splitBatch) on records of a
 * workload file, for one or more builds: `node <dist>/bench/micro-split.js <workload.jsonl>
 * <dist>...`. Best of 5 rounds, so a busy machine's noise shows less.
 */
interface SplitterModules {
  createAppIdExtractor: (c: { source: 'json'; jsonPath: string; pattern: string }) => {
    extract(r: unknown): unknown;
  };
  splitBatch: (input: unknown, opts: unknown) => unknown;
}

// A build chosen at run time: a dynamic require is the point.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = (path: string) => require(path) as SplitterModules;

const PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

function main(): void {
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
    let extract = 0;
    let split = 0;
    for (let round = 0; round < 5; round++) {
      let t = performance.now();
      for (const r of records) extractor.extract(r);
      extract = Math.max(extract, bytes / 1e6 / ((performance.now() - t) / 1000));
      t = performance.now();
      for (let i = 0; i < records.length; i += 5000) {
        splitBatch(
          { topic: 't', partition: 0, records: records.slice(i, i + 5000) },
          { extractor, pattern: PATTERN, maxRecordBytes: 524288, maxChunkBytes: 900 * 1024 },
        );
      }
      split = Math.max(split, bytes / 1e6 / ((performance.now() - t) / 1000));
    }
    process.stdout.write(
      `${dist}: extract ${extract.toFixed(0)} MB/s, splitBatch ${split.toFixed(0)} MB/s (${records.length} records)\n`,
    );
  }
}

main();
