import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  Codec,
  crashPoint,
  cutTornTails,
  decideSegment,
  dataFileName,
  ManifestEntry,
  readSegment,
  sealSegment,
  SEGMENT_FILES,
  SegmentLimits,
  SegmentMeta,
  SegmentState,
  SpoolLayout,
} from '@logsplit/common';

export interface SegmentWriterLimits extends SegmentLimits {
  fsync: boolean;
}

export type BlockInfo = Omit<ManifestEntry, 'offset' | 'length' | 'appendedAt'>;

export interface AppendOutcome {
  segmentId: string;
  offset: number;
  /** Segments this append sealed (by age before it, or by size after it). */
  sealed: SegmentState[];
}

/**
 * Appends compressed blocks to the open segment of one (app, slot). The caller must hold the
 * slot's lease for the whole call: slot k owns open/slot-k, so two writers never share a file.
 *
 * Durability order: block written and fsynced, then its manifest line written and fsynced. A
 * crash between the two leaves a torn tail that the next holder cuts off before appending, so a
 * reader never sees a block the manifest does not vouch for. The line also names the by-app
 * messages the block holds (`info.input`): once it is written, a replay skips them.
 *
 * `assertStillOwner` must throw unless the caller still owns what it writes for (the slot's
 * lease, and the partition's lease for the input); it runs before every change of the slot's
 * directory and right before the manifest line.
 */
export class SegmentWriter {
  constructor(
    private readonly layout: SpoolLayout,
    private readonly codec: Codec,
    private readonly limits: SegmentWriterLimits,
    private readonly instanceId: string,
    private readonly now: () => number = Date.now,
  ) {}

  async append(
    app: string,
    slot: number,
    block: Buffer,
    info: BlockInfo,
    assertStillOwner: () => Promise<void>,
  ): Promise<AppendOutcome> {
    const sealed: SegmentState[] = [];
    const dir = this.layout.openDir(app, slot);
    let segment = await readSegment(dir);
    // Sealing and creating change the slot's directory too: a writer that lost its lease must
    // not rename or recreate the new holder's segment, so each is done only after a check.
    const decision = segment ? this.decide(segment) : 'keep';
    if (segment && decision !== 'keep') {
      await assertStillOwner();
      // 'discard': an old segment without blocks (its creator died before the first) is
      // replaced, not reused: its createdAt would put new records in a long-past dt=/hh=.
      if (decision === 'seal') sealed.push(await this.seal(segment));
      segment = undefined;
    }
    if (!segment) {
      await assertStillOwner();
      segment = await this.create(app, slot);
    }

    // Checked right before the write that makes data visible: a writer whose lease expired
    // while it was paused must not append behind the new holder's back.
    await assertStillOwner();
    await cutTornTails(segment);
    const offset = segment.committedBytes;
    const entry: ManifestEntry = { offset, length: block.length, appendedAt: this.now(), ...info };
    await this.appendTo(segment.dataPath, block);
    crashPoint('compressor.after-block');
    // The manifest line is the block's commit point: checked again right before it, since the
    // data write may have outlasted the lease. Failing here leaves a torn tail, cut later.
    await assertStillOwner();
    await this.appendTo(
      join(dir, SEGMENT_FILES.manifest),
      Buffer.from(JSON.stringify(entry) + '\n'),
    );

    const after: SegmentState = {
      ...segment,
      entries: [...segment.entries, entry],
      committedBytes: offset + block.length,
      dataBytes: offset + block.length,
    };
    after.manifestBytes = after.manifestValidBytes =
      segment.manifestValidBytes + Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (this.decide(after) === 'seal') {
      await assertStillOwner(); // the rename decides the segment's cut: only its owner may
      sealed.push(await this.seal(after));
    }
    return { segmentId: segment.meta.segmentId, offset, sealed };
  }

  /** The segment policy (libs/common) decides; the uploader's sweeper asks the same one. */
  private decide(segment: SegmentState) {
    const facts = {
      bornAt: segment.meta.createdAt,
      bytes: segment.committedBytes,
      blocks: segment.entries.length,
      // A segment of another codec (the deployment switched codecs) is sealed as it is.
      foreignCodec: segment.meta.codec !== this.codec.name,
    };
    return decideSegment(facts, this.limits, this.now());
  }

  private async seal(segment: SegmentState): Promise<SegmentState> {
    const dir = await sealSegment(this.layout, segment);
    return { ...segment, dir, dataPath: join(dir, dataFileName(segment.meta.extension)) };
  }

  private async create(app: string, slot: number): Promise<SegmentState> {
    const dir = this.layout.openDir(app, slot);
    await fs.mkdir(dir, { recursive: true });
    // A leftover data or manifest file without meta.json came from a crash during creation (or
    // belongs to the empty segment being replaced). Removed before meta.json appears, so a crash
    // here never pairs the new meta with old blocks.
    for (const name of await fs.readdir(dir)) {
      if (name === SEGMENT_FILES.manifest || name.startsWith(SEGMENT_FILES.dataBase)) {
        await fs.rm(join(dir, name), { force: true });
      }
    }
    const createdAt = this.now();
    const meta: SegmentMeta = {
      segmentId: newSegmentId(createdAt, slot),
      app,
      slot,
      codec: this.codec.name,
      extension: this.codec.extension,
      createdAt,
      createdBy: this.instanceId,
    };
    // meta.json appears atomically: a directory without it is a segment not yet begun.
    const tmp = join(dir, `${SEGMENT_FILES.meta}.${randomBytes(4).toString('hex')}.tmp`);
    await fs.writeFile(tmp, JSON.stringify(meta));
    await fs.rename(tmp, join(dir, SEGMENT_FILES.meta));
    const dataPath = join(dir, dataFileName(meta.extension));
    return {
      dir,
      meta,
      entries: [],
      dataPath,
      committedBytes: 0,
      dataBytes: 0,
      manifestBytes: 0,
      manifestValidBytes: 0,
    };
  }

  private async appendTo(path: string, data: Buffer) {
    const fh = await fs.open(path, 'a');
    try {
      await fh.write(data);
      if (this.limits.fsync) await fh.datasync();
    } finally {
      await fh.close();
    }
  }
}

/** Sorts by creation time; the slot and random suffix keep ids unique across instances. */
export function newSegmentId(createdAt: number, slot: number): string {
  const t = new Date(createdAt)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${t}-s${slot}-${randomBytes(4).toString('hex')}`;
}
