import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { mapLimit } from '../util';
import { isNotFound, listDirs } from './segment-files';
import { BlockInput } from './segment-meta';
import { SEGMENT_FILES, SpoolLayout } from './spool-layout';

/** What to look for: chunks of these partitions of `topic`, from a first offset on. */
export interface InputQuery {
  topic: string;
  /** Partition → the lowest offset of interest (offsets below it are committed). */
  from: ReadonlyMap<number, number>;
  /** Only these apps' segments; default: every app on the spool. */
  apps?: readonly string[];
}

/** Partition → offsets of its chunks that some manifest on the spool holds. */
export type HeldInputs = Map<number, Set<number>>;

/** Manifests read at the same time; a NAS answers many small reads best in parallel. */
const READ_CONCURRENCY = 16;

/**
 * Finds the by-app messages (chunks) that blocks on the spool already hold, from the manifests of
 * open and sealed segments. A manifest line is a block's commit point, so a chunk is held exactly
 * when a complete line names its offset; a torn last line names nothing.
 *
 * Open segments are read before sealed ones: sealing renames open/slot-k to sealed/<id>, so a
 * segment that moves while we look is missed in open/ only to be found in sealed/.
 */
export async function findHeldInputs(layout: SpoolLayout, query: InputQuery): Promise<HeldInputs> {
  const held: HeldInputs = new Map([...query.from.keys()].map((p) => [p, new Set<number>()]));
  const apps = query.apps ?? (await listDirs(layout.root));
  await mapLimit([...apps], READ_CONCURRENCY, async (app) => {
    for (const root of [layout.openRoot(app), layout.sealedRoot(app)]) {
      for (const dir of await listDirs(root)) {
        const path = join(root, dir, SEGMENT_FILES.manifest);
        collect(path, await readCompleteLines(path), query, held);
      }
    }
  });
  return held;
}

const INPUT_KEY = '"input":';

/**
 * Parses only each line's `input` object (no nested objects, so it ends at the first '}'):
 * sources and trace make up most of a line, and a takeover reads every manifest on the spool.
 * A key inside a JSON string would have its quotes escaped, so the search cannot match there.
 */
function collect(path: string, text: string, query: InputQuery, held: HeldInputs): void {
  for (let at = text.indexOf(INPUT_KEY); at >= 0; at = text.indexOf(INPUT_KEY, at + 1)) {
    const start = at + INPUT_KEY.length;
    const input = parseInput(path, text.slice(start, text.indexOf('}', start) + 1));
    if (input.topic !== query.topic) continue;
    const from = query.from.get(input.partition);
    if (from === undefined) continue;
    const set = held.get(input.partition)!;
    for (const offset of input.offsets) if (offset >= from) set.add(offset);
  }
}

function parseInput(path: string, json: string): BlockInput {
  try {
    const input = JSON.parse(json) as BlockInput;
    if (typeof input.topic === 'string' && Array.isArray(input.offsets)) return input;
  } catch {
    // reported below
  }
  // A complete line is never half-written: this is damage, and skipping it could duplicate.
  throw new Error(`manifest ${path} has a damaged input: ${json.slice(0, 80)}`);
}

/** Its complete lines; nothing for a manifest that is gone (segment moved or uploaded). */
async function readCompleteLines(path: string): Promise<string> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(path);
  } catch (err) {
    if (isNotFound(err)) return '';
    throw err;
  }
  return buf.subarray(0, buf.lastIndexOf(0x0a) + 1).toString('utf8');
}
