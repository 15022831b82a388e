import {
  ATTRS,
  crashPoint,
  fileMd5,
  indexEntryKey,
  inSpan,
  isSafeAppId,
  readSegment,
  segmentObjectKey,
  SegmentState,
  segmentUploadResource,
  SegmentArchived,
  SPANS,
  StageEvents,
  StorageDriver,
  UploadFailed,
  UploadStep,
} from '@logsplit/common';
import { createOnce, describeObject, writeIndexEntryOnce } from './archive-writes';
import { CommittedOffsets, firstUncommittedBlock, inputTopics } from './commit-gate';
import { CommitWaits } from './commit-waits';
import { CompressorCommits } from './compressor-commits';
import { buildIndexEntry } from '@logsplit/common';
import { blockLinks, segmentAttributes } from './segment-spans';
import { TryLease } from './try-lease';
import { UploaderSpool } from './uploader-spool';

export type UploadOutcome = 'uploaded' | 'empty' | 'gone' | 'busy' | 'uncommitted';

/** Committed offsets of the topics asked for; one broker look-up per topic per snapshot. */
export type CommitSnapshot = (topics: string[]) => Promise<CommittedOffsets>;

export interface SegmentUploadOptions {
  /** Key prefix in the store. */
  prefix: string;
  lockTtlMs: number;
}

/**
 * One sealed segment → object → verified → index entry → local delete, in that order, so a
 * crash at any step leaves the segment on the spool and the next attempt repeats the step with
 * the same object key and the same result. Nothing is uploaded before the segment writers have
 * committed every by-app message the segment holds (commit-gate.ts): a segment still on the
 * spool is what a replayed batch is checked against.
 */
export class SegmentUpload {
  constructor(
    private readonly opts: SegmentUploadOptions,
    private readonly store: StorageDriver,
    private readonly semaphore: TryLease,
    private readonly commits: CompressorCommits,
    private readonly spool: UploaderSpool,
    private readonly waits: CommitWaits,
    private readonly events: StageEvents,
  ) {}

  /** A fresh view of the writers' commits, fetched per topic on first use and then kept. */
  commitSnapshot(): CommitSnapshot {
    const byTopic = new Map<string, Promise<CommittedOffsets>>();
    return async (topics) => {
      const merged = new Map<string, number>();
      for (const topic of topics) {
        let fetched = byTopic.get(topic);
        if (!fetched) byTopic.set(topic, (fetched = this.commits.fetch([topic])));
        for (const [k, v] of await fetched) merged.set(k, v);
      }
      return merged;
    };
  }

  /**
   * Uploads one sealed segment if its input is committed ('uncommitted' when not yet).
   * `commits` lets a pass share one look-up of the committed offsets.
   */
  async upload(
    app: string,
    segmentId: string,
    commits: CommitSnapshot = this.commitSnapshot(),
  ): Promise<UploadOutcome> {
    if (!isSafeAppId(app) || !/^[A-Za-z0-9-]+$/.test(segmentId)) {
      throw new Error(`refusing to upload ${JSON.stringify(app)}/${JSON.stringify(segmentId)}`);
    }
    // One uploader per segment; the lease outlives a slow upload because it is renewed.
    const resource = segmentUploadResource(app, segmentId);
    const lease = await this.semaphore.tryAcquireSlot(resource, 0, this.opts.lockTtlMs);
    if (!lease) return 'busy';
    const progress: { step: UploadStep } = { step: 'read' };
    try {
      const segment = await readSegment(this.spool.layout.sealedDir(app, segmentId));
      if (!segment) {
        this.waits.done(app, segmentId);
        return 'gone'; // another instance finished it
      }
      if (segment.entries.length === 0) {
        await this.spool.removeSegment(segment);
        return 'empty';
      }
      progress.step = 'commit-check';
      const committed = await commits(inputTopics(segment.entries));
      const blocked = firstUncommittedBlock(segment.entries, committed);
      if (blocked) {
        this.waits.waiting(app, segmentId, blocked);
        return 'uncommitted';
      }
      this.waits.done(app, segmentId);
      await this.archive(segment, progress, () => lease.assertHeld());
      return 'uploaded';
    } catch (err) {
      this.events.emit(new UploadFailed({ step: progress.step }));
      throw err;
    } finally {
      await lease.release();
    }
  }

  /**
   * One uploader.segment span per attempt, in a trace of its own: a segment gathers blocks of many
   * traces, so it links to the compressor.append span of each block instead of having a parent
   * (known at its start, so a sampled block's upload is sampled too).
   */
  private async archive(
    segment: SegmentState,
    progress: { step: UploadStep },
    assertHeld: () => Promise<void>,
  ) {
    const started = Date.now();
    const { prefix } = this.opts;
    const { meta } = segment;
    const { app, segmentId } = meta;
    const key = segmentObjectKey(prefix, app, segmentId, meta.createdAt, meta.extension);
    const attributes = { ...segmentAttributes(segment), [ATTRS.objectKey]: key };
    const links = blockLinks(segment);
    await inSpan(SPANS.uploaderSegment, { root: true, attributes, links }, async () => {
      const stepAttributes = { [ATTRS.objectKey]: key };
      progress.step = 'upload';
      const local = await inSpan(SPANS.uploaderUpload, { attributes: stepAttributes }, async () => {
        const local = await fileMd5(segment.dataPath);
        if (local.size !== segment.committedBytes) {
          throw new Error(
            `segment ${segment.dir} is damaged: data file has ${local.size} bytes, its manifest covers ${segment.committedBytes}`,
          );
        }
        await createOnce(this.store, key, local, () =>
          this.store.putFile(key, segment.dataPath, { md5: local.md5, ifAbsent: true }),
        );
        return local;
      });
      progress.step = 'verify';
      await inSpan(SPANS.uploaderVerify, { attributes: stepAttributes }, async () => {
        const stored = await this.store.head(key);
        if (!stored || stored.size !== local.size || stored.md5 !== local.md5) {
          throw new Error(
            `verification of ${key} failed: stored ${describeObject(stored)}, local ${describeObject(local)}`,
          );
        }
      });
      crashPoint('uploader.after-upload');

      progress.step = 'index';
      const entry = buildIndexEntry(segment, key, local.md5, Date.now());
      const indexKey = indexEntryKey(prefix, app, segmentId, meta.createdAt);
      await inSpan(SPANS.uploaderIndex, { attributes: { [ATTRS.objectKey]: indexKey } }, () =>
        writeIndexEntryOnce(this.store, indexKey, entry),
      );
      crashPoint('uploader.after-index');

      progress.step = 'delete';
      await inSpan(SPANS.uploaderDelete, {}, async () => {
        await assertHeld();
        await this.spool.removeSegment(segment);
      });
      this.events.emit(
        new SegmentArchived({
          app,
          key,
          records: entry.records,
          rawBytes: entry.rawBytes,
          bytes: entry.bytes,
          blocks: entry.blocks.length,
          seconds: (Date.now() - started) / 1000,
        }),
      );
    });
  }
}
