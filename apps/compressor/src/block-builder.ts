import { Chunk, SourceRange } from '@logsplit/common';
import { BlockInfo } from './segment-writer';

/** A chunk and the by-app message it came in. */
export interface InputChunk {
  chunk: Chunk;
  /** Kafka offset of the message on the by-app topic. */
  offset: number;
}

export interface PlannedBlock {
  payload: Buffer;
  info: BlockInfo;
}

/**
 * Merges one app's chunks from a batch of `topic`[`partition`] into as few blocks as the member
 * size allows: fewer, larger gzip members / zstd frames compress better and keep the manifest
 * short. A chunk is never split, so a block's sources are whole chunks and "this chunk is in a
 * manifest" is all or nothing: the fact a replayed batch is filtered by.
 */
export function planBlocks(
  topic: string,
  partition: number,
  chunks: InputChunk[],
  maxMemberBytes: number,
): PlannedBlock[] {
  const blocks: PlannedBlock[] = [];
  let group: InputChunk[] = [];
  let size = 0;
  const flush = () => {
    if (group.length === 0) return;
    blocks.push({
      payload: Buffer.concat(
        group.map((c) => c.chunk.payload),
        size,
      ),
      info: describe(topic, partition, group),
    });
    group = [];
    size = 0;
  };
  for (const input of chunks) {
    const bytes = input.chunk.payload.length;
    if (size > 0 && size + bytes > maxMemberBytes) flush();
    group.push(input);
    size += bytes;
  }
  flush();
  return blocks;
}

function describe(topic: string, partition: number, group: InputChunk[]): BlockInfo {
  let records = 0;
  let rawBytes = 0;
  let minTime = Infinity;
  let maxTime = -Infinity;
  const sources: SourceRange[] = [];
  const offsets: number[] = [];
  for (const { chunk: c, offset } of group) {
    records += c.records;
    rawBytes += c.payload.length;
    minTime = Math.min(minTime, c.minTime);
    maxTime = Math.max(maxTime, c.maxTime);
    sources.push(c.source);
    offsets.push(offset);
  }
  return { records, rawBytes, minTime, maxTime, sources, input: { topic, partition, offsets } };
}
