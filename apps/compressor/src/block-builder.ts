import { Chunk, SourceRange } from '@logsplit/common';
import { BlockInfo } from './segment-writer';

export interface PlannedBlock {
  payload: Buffer;
  info: BlockInfo;
}

/**
 * Merges one app's chunks from a batch into as few blocks as the member size allows: fewer,
 * larger gzip members / zstd frames compress better and keep the manifest short. A chunk is
 * never split, so a block's sources are whole chunks.
 */
export function planBlocks(chunks: Chunk[], maxMemberBytes: number): PlannedBlock[] {
  const blocks: PlannedBlock[] = [];
  let group: Chunk[] = [];
  let size = 0;
  const flush = () => {
    if (group.length === 0) return;
    blocks.push({
      payload: Buffer.concat(
        group.map((c) => c.payload),
        size,
      ),
      info: describe(group),
    });
    group = [];
    size = 0;
  };
  for (const chunk of chunks) {
    if (size > 0 && size + chunk.payload.length > maxMemberBytes) flush();
    group.push(chunk);
    size += chunk.payload.length;
  }
  flush();
  return blocks;
}

function describe(group: Chunk[]): BlockInfo {
  let records = 0;
  let rawBytes = 0;
  let minTime = Infinity;
  let maxTime = -Infinity;
  const sources: SourceRange[] = [];
  for (const c of group) {
    records += c.records;
    rawBytes += c.payload.length;
    minTime = Math.min(minTime, c.minTime);
    maxTime = Math.max(maxTime, c.maxTime);
    sources.push(c.source);
  }
  return { records, rawBytes, minTime, maxTime, sources };
}
