import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  ATTRS,
  boundedLinks,
  buildIndexEntry,
  crashPoint,
  ObjectExistsError,
  ObjectInfo,
  inSpan,
  ManifestEntry,
  MAX_LINKS,
  Metrics,
  parseTraceparent,
  SEGMENT_FILES,
  SegmentState,
  SPANS,
  indexEntryKey,
  IndexEntry,
  isSafeAppId,
  appSlotsResource,
  fileMd5,
  LeaseSemaphore,
  segmentUploadResource,
  listDirs,
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  mapLimit,
  parseSlotDirName,
  readSegment,
  sealSegment,
  segmentObjectKey,
  SpoolLayout,
  sameIndexEntry,
  StorageDriver,
} from '@logsplit/common';
import { ArchiveConflictError } from './archive-conflict-error';
import { CommittedOffsets, firstUncommittedBlock, inputTopics } from './commit-gate';
import { CommitWaits } from './commit-waits';
import { CompressorCommits } from './compressor-commits';
import { mayBeDue, probeOpenSlot } from './open-slot-probe';
import { SegmentRef, uploadEach } from './upload-each';
import { UPLOAD_STORE } from './upload-store';

export type UploadOutcome = 'uploaded' | 'empty' | 'gone' | 'busy' | 'uncommitted';

/** Committed offsets of the topics asked for; one broker look-up per topic per snapshot. */
export type CommitSnapshot = (topics: string[]) => Promise<CommittedOffsets>;

type Step = 'read' | 'commit-check' | 'upload' | 'verify' | 'index' | 'delete';

/** Where deleted segments go first: not an app id (ids start with a letter or digit). */
const TRASH_DIR = '_trash';

/**
 * sealed segment → object → verified → index entry → local delete, in that order, so a crash at
 * any step leaves the segment on the spool and the next pass repeats the step with the same
 * object key and the same result. Objects and index entries are written create-if-absent: one
 * already there from an earlier attempt is checked (same bytes: the step is done) and never
 * overwritten (different bytes: ArchiveConflictError). Nothing is uploaded before the
 * compressor has committed every by-app message the segment holds (commit-gate.ts).
 */
@Injectable()
export class UploadService {
  private readonly log = new Logger(UploadService.name);
  private readonly layout: SpoolLayout;
  private readonly waits: CommitWaits;

  constructor(
    @Inject(LOGSPLIT_CONFIG) private readonly config: LogsplitConfig,
    @Inject(UPLOAD_STORE) private readonly store: StorageDriver,
    private readonly semaphore: LeaseSemaphore,
    private readonly commits: CompressorCommits,
    private readonly metrics: Metrics = new Metrics('uploader', 0),
  ) {
    this.layout = new SpoolLayout(config.spoolDir);
    this.waits = new CommitWaits(metrics, config.compressor.group);
  }

  /** A fresh view of the compressor's commits, fetched per topic on first use and then kept. */
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

  /** Apps present on the spool (directory names that are valid app ids). */
  async apps(): Promise<string[]> {
    return (await listDirs(this.layout.root)).filter(isSafeAppId);
  }

  async sealedSegmentIds(app: string): Promise<string[]> {
    return listDirs(this.layout.sealedRoot(app));
  }

  /**
   * Seals open segments that are old or big enough; an idle app has no writer to do it. Takes
   * the slot's lease without waiting: a busy slot has a writer that seals by itself.
   */
  async sealDue(app: string, now = Date.now()): Promise<number> {
    return (await this.sealDueSlots(app, now)).sealed;
  }

  /** sealDue, also counting the open segments it left open and their data bytes (gauges). */
  private async sealDueSlots(app: string, now: number): Promise<SlotTotals> {
    const { segmentMaxAgeMs, segmentMaxBytes } = this.config.compressor;
    const totals: SlotTotals = { sealed: 0, open: 0, openBytes: 0 };
    for (const name of await listDirs(this.layout.openRoot(app))) {
      const slot = parseSlotDirName(name);
      if (slot === undefined) continue;
      const dir = this.layout.openDir(app, slot);
      const probe = await probeOpenSlot(dir);
      const left = () => {
        if (probe.dataBytes === undefined) return;
        totals.open++;
        totals.openBytes += probe.dataBytes;
      };
      if (!mayBeDue(probe, now, { segmentMaxAgeMs, segmentMaxBytes })) {
        left();
        continue;
      }
      const lease = await this.semaphore.tryAcquireSlot(
        appSlotsResource(app),
        slot,
        this.config.lockTtlMs,
      );
      if (!lease) {
        left();
        continue;
      }
      try {
        const action = await dueAction(dir);
        if (!action) {
          left();
          continue;
        }
        await lease.assertHeld();
        if (action.kind === 'discard') {
          await this.discard(dir, `${app}.${name}`);
          this.log.log(`removed ${dir}: no block was ever confirmed in it and it is past its age`);
          continue;
        }
        const segment = action.segment;
        await inSpan(
          SPANS.uploaderSeal,
          { root: true, attributes: segmentAttributes(segment), links: blockLinks(segment) },
          () => sealSegment(this.layout, segment),
        );
        totals.sealed++;
      } finally {
        await lease.release();
      }
    }
    return totals;

    /**
     * 'seal' for a segment with blocks that is old or big enough; 'discard' for a slot directory
     * that never got a confirmed block and is past the age (its writer died before the first
     * manifest line, and no write came to that slot since): nothing would ever seal it.
     */
    async function dueAction(
      dir: string,
    ): Promise<{ kind: 'seal'; segment: SegmentState } | { kind: 'discard' } | undefined> {
      const segment = await readSegment(dir);
      if (!segment) {
        const mtime = await fs.stat(dir).then(
          (st) => st.mtimeMs,
          () => undefined,
        );
        return mtime !== undefined && now - mtime >= segmentMaxAgeMs
          ? { kind: 'discard' }
          : undefined;
      }
      const bytes = segment.committedBytes;
      const old = now - segment.meta.createdAt >= segmentMaxAgeMs;
      if (bytes === 0) return old ? { kind: 'discard' } : undefined;
      return old || bytes >= segmentMaxBytes ? { kind: 'seal', segment } : undefined;
    }
  }

  /**
   * Uploads one sealed segment if the compressor has committed its input ('uncommitted' when
   * not yet). `commits` lets a pass share one look-up of the committed offsets.
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
    const lease = await this.semaphore.tryAcquireSlot(
      segmentUploadResource(app, segmentId),
      0,
      this.config.lockTtlMs,
    );
    if (!lease) return 'busy';
    const progress: { step: Step } = { step: 'read' };
    try {
      const segment = await readSegment(this.layout.sealedDir(app, segmentId));
      if (!segment) {
        this.waits.done(app, segmentId);
        return 'gone'; // another instance finished it
      }
      if (segment.entries.length === 0) {
        await this.removeLocal(segment);
        return 'empty';
      }
      progress.step = 'commit-check';
      const blocked = firstUncommittedBlock(
        segment.entries,
        await commits(inputTopics(segment.entries)),
      );
      if (blocked) {
        this.waits.waiting(app, segmentId, blocked);
        return 'uncommitted';
      }
      this.waits.done(app, segmentId);
      const started = Date.now();
      await this.uploadSegment(segment, progress, () => lease.assertHeld());
      this.metrics.uploadDuration.observe((Date.now() - started) / 1000);
      return 'uploaded';
    } catch (err) {
      this.metrics.uploadErrors.inc({ step: progress.step });
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
  private async uploadSegment(
    segment: SegmentState,
    progress: { step: Step },
    assertHeld: () => Promise<void>,
  ) {
    const { prefix } = this.config.store;
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
        await this.createOnce(key, local, () =>
          this.store.putFile(key, segment.dataPath, { md5: local.md5, ifAbsent: true }),
        );
        return local;
      });
      progress.step = 'verify';
      await inSpan(SPANS.uploaderVerify, { attributes: stepAttributes }, async () => {
        const stored = await this.store.head(key);
        if (!stored || stored.size !== local.size || stored.md5 !== local.md5) {
          throw new Error(
            `verification of ${key} failed: stored ${describe(stored)}, local ${describe(local)}`,
          );
        }
      });
      crashPoint('uploader.after-upload');

      progress.step = 'index';
      const entry = buildIndexEntry(segment, key, local.md5, Date.now());
      const indexKey = indexEntryKey(prefix, app, segmentId, meta.createdAt);
      await inSpan(SPANS.uploaderIndex, { attributes: { [ATTRS.objectKey]: indexKey } }, () =>
        this.writeIndexEntry(indexKey, entry),
      );
      crashPoint('uploader.after-index');

      progress.step = 'delete';
      await inSpan(SPANS.uploaderDelete, {}, async () => {
        await assertHeld();
        await this.removeLocal(segment);
      });
      // Counted when the segment leaves the spool, so a retried upload is counted once.
      this.countArchived(app, entry.records, entry.bytes);
      this.log.log(
        `uploaded ${key}: ${entry.records} records, ${entry.rawBytes} → ${entry.bytes} bytes in ${entry.blocks.length} blocks`,
      );
    });
  }

  /**
   * Stores key create-if-absent. An object already there (an earlier attempt's, before a crash
   * or with its answer lost) completes the step when it has the expected size and md5; anything
   * else there is an ArchiveConflictError, never overwritten.
   */
  private async createOnce(
    key: string,
    expected: { size: number; md5: string },
    put: () => Promise<unknown>,
  ): Promise<void> {
    const check = (stored: ObjectInfo) => {
      if (stored.size !== expected.size || stored.md5 !== expected.md5) {
        throw new ArchiveConflictError(key, describe(stored), describe(expected));
      }
    };
    // Looking first spares re-sending a whole segment after a crash.
    const before = await this.store.head(key);
    if (before) return check(before);
    try {
      await put();
    } catch (err) {
      if (!(err instanceof ObjectExistsError)) throw err;
      const stored = await this.store.head(key);
      if (!stored) throw new Error(`${key} was reported to exist, then not found; will retry`);
      check(stored);
    }
  }

  /** The first entry written stays (create-if-absent); an equal one found there completes the step. */
  private async writeIndexEntry(indexKey: string, entry: IndexEntry): Promise<void> {
    try {
      await this.store.putBuffer(indexKey, Buffer.from(JSON.stringify(entry)), {
        contentType: 'application/json',
        ifAbsent: true,
      });
    } catch (err) {
      if (!(err instanceof ObjectExistsError)) throw err;
      const body = await this.store.getBuffer(indexKey);
      let stored: unknown;
      try {
        stored = JSON.parse(body.toString('utf8'));
      } catch {
        stored = undefined;
      }
      if (!sameIndexEntry(stored, entry)) {
        throw new ArchiveConflictError(
          indexKey,
          `an index entry of ${body.length} bytes that differs from this segment's`,
          `${entry.records} records in ${entry.bytes} bytes, md5 ${entry.md5}`,
        );
      }
    }
  }

  /**
   * Takes the segment off the spool in one atomic rename out of sealed/, then deletes it, so a
   * crash midway never leaves half a segment that looks uploadable (e.g. a manifest without data).
   */
  private removeLocal(segment: SegmentState): Promise<void> {
    return this.discard(segment.dir, `${segment.meta.app}.${segment.meta.segmentId}`);
  }

  private async discard(dir: string, name: string): Promise<void> {
    const trash = join(this.layout.root, TRASH_DIR);
    await fs.mkdir(trash, { recursive: true });
    const target = join(trash, `${name}.${randomBytes(4).toString('hex')}`);
    await fs.rename(dir, target);
    await fs.rm(target, { recursive: true, force: true });
  }

  /** Deletes what a crash left in the trash. */
  private async emptyTrash(): Promise<void> {
    const trash = join(this.layout.root, TRASH_DIR);
    for (const name of await listDirs(trash)) {
      await fs.rm(join(trash, name), { recursive: true, force: true }).catch((err: unknown) => {
        this.log.warn(`could not delete ${join(trash, name)}: ${String(err)}`);
      });
    }
  }

  private countArchived(app: string, records: number, bytes: number): void {
    const label = this.metrics.app(app);
    this.metrics.recordsOut.inc({ app: label }, records);
    this.metrics.bytesOut.inc({ app: label }, bytes);
    this.metrics.segmentBytes.observe(bytes);
  }

  /** Data bytes of sealed segments waiting on the spool, for the gauge. */
  private async sealedBytes(app: string, segmentIds: readonly string[]): Promise<number> {
    let bytes = 0;
    for (const id of segmentIds) {
      const dir = this.layout.sealedDir(app, id);
      const files = await fs.readdir(dir).catch(() => [] as string[]);
      const data = files.find((f) => f.startsWith(`${SEGMENT_FILES.dataBase}.`));
      if (data) bytes += (await fs.stat(join(dir, data)).catch(() => ({ size: 0 }))).size;
    }
    return bytes;
  }

  /**
   * One full pass: seal what is due, then upload every sealed segment whose input the compressor
   * has committed (one look-up of its offsets for the whole pass). Apps are sealed and segments
   * uploaded `uploader.concurrency` at a time: each step mostly waits (fsync, the store, Redis).
   */
  async pass(): Promise<PassTotals> {
    const totals: PassTotals = { sealed: 0, uploaded: 0, waiting: 0, failed: 0 };
    await this.emptyTrash();
    const apps = await this.apps();
    const commits = this.commitSnapshot();
    const waiting = new Set<string>();
    const segments: SegmentRef[] = [];
    const spool = { open: 0, bytes: 0 };
    await mapLimit(apps, this.config.uploader.concurrency, async (app) => {
      // One app's damaged open segment must not stop the pass for every app after it.
      try {
        const slots = await this.sealDueSlots(app, Date.now());
        totals.sealed += slots.sealed;
        spool.open += slots.open;
        spool.bytes += slots.openBytes;
      } catch (err) {
        totals.failed++;
        this.metrics.uploadErrors.inc({ step: 'seal' });
        this.log.error(`sealing due segments of ${app} failed, will retry: ${String(err)}`);
      }
      const ids = await this.sealedSegmentIds(app);
      for (const segmentId of ids) segments.push({ app, segmentId });
      const bytes = await this.sealedBytes(app, ids); // not `+= await`: lanes would race
      spool.bytes += bytes;
    });
    this.metrics.openSegments.set(spool.open);
    this.metrics.spoolPendingBytes.set(spool.bytes);
    const upload = ({ app, segmentId }: SegmentRef) => this.upload(app, segmentId, commits);
    await uploadEach(segments, this.config.uploader.concurrency, upload, (segment, outcome) => {
      const { app, segmentId } = segment;
      if (outcome === 'uploaded') totals.uploaded++;
      if (outcome === 'uncommitted') {
        totals.waiting++;
        waiting.add(`${app}/${segmentId}`);
      }
      if (outcome instanceof Error) {
        totals.failed++;
        this.log.error(`upload of ${app}/${segmentId} failed, will retry: ${String(outcome)}`);
      }
    });
    this.waits.keepOnly(waiting);
    return totals;
  }
}

interface SlotTotals {
  sealed: number;
  /** Open segments left open, and the bytes of their data files. */
  open: number;
  openBytes: number;
}

export interface PassTotals {
  sealed: number;
  uploaded: number;
  /** Sealed segments held back until the compressor commits their input. */
  waiting: number;
  failed: number;
}

function describe(o: { size: number; md5: string } | undefined): string {
  return o ? `${o.size} bytes md5 ${o.md5 || 'unknown'}` : 'nothing';
}

function segmentAttributes(segment: SegmentState) {
  return {
    [ATTRS.appId]: segment.meta.app,
    [ATTRS.segmentId]: segment.meta.segmentId,
    [ATTRS.records]: segment.entries.reduce((n, e) => n + e.records, 0),
    [ATTRS.bytesIn]: segment.entries.reduce((n, e) => n + e.rawBytes, 0),
    [ATTRS.bytesOut]: segment.committedBytes,
  };
}

/** Links to the compressor.append spans that wrote the segment's blocks (bounded). */
function blockLinks(segment: SegmentState) {
  return boundedLinks(
    segment.entries.map((e: ManifestEntry) => (e.trace ? parseTraceparent(e.trace) : undefined)),
    MAX_LINKS,
  );
}
