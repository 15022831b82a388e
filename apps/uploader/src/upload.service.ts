import { Inject, Injectable, Logger } from '@nestjs/common';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  ATTRS,
  boundedLinks,
  inSpan,
  ManifestEntry,
  MAX_LINKS,
  Metrics,
  parseTraceparent,
  SEGMENT_FILES,
  SegmentState,
  SPANS,
  indexEntryKey,
  isSafeAppId,
  appSlotsResource,
  fileMd5,
  LeaseSemaphore,
  segmentUploadResource,
  listDirs,
  LOGSPLIT_CONFIG,
  LogsplitConfig,
  parseSlotDirName,
  readSegment,
  sealSegment,
  segmentObjectKey,
  SpoolLayout,
  STORAGE,
  StorageDriver,
} from '@logsplit/common';
import { buildIndexEntry } from './index-entry';

export type UploadOutcome = 'uploaded' | 'empty' | 'gone' | 'busy';

/**
 * sealed segment → object → verified → index entry → local delete, in that order, so a crash at
 * any step leaves the segment on the spool and the next pass repeats the step with the same
 * object key and the same result.
 */
@Injectable()
export class UploadService {
  private readonly log = new Logger(UploadService.name);
  private readonly layout: SpoolLayout;

  constructor(
    @Inject(LOGSPLIT_CONFIG) private readonly config: LogsplitConfig,
    @Inject(STORAGE) private readonly store: StorageDriver,
    private readonly semaphore: LeaseSemaphore,
    private readonly metrics: Metrics = new Metrics('uploader', 0),
  ) {
    this.layout = new SpoolLayout(config.spoolDir);
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
    const { segmentMaxAgeMs, segmentMaxBytes } = this.config.compressor;
    let sealed = 0;
    for (const name of await listDirs(this.layout.openRoot(app))) {
      const slot = parseSlotDirName(name);
      if (slot === undefined) continue;
      const peek = await readSegment(this.layout.openDir(app, slot));
      if (!peek || !isDue(peek.meta.createdAt, peek.committedBytes)) continue;
      const lease = await this.semaphore.tryAcquireSlot(
        appSlotsResource(app),
        slot,
        this.config.lockTtlMs,
      );
      if (!lease) continue;
      try {
        const segment = await readSegment(this.layout.openDir(app, slot));
        if (!segment || !isDue(segment.meta.createdAt, segment.committedBytes)) continue;
        await lease.assertHeld();
        await inSpan(
          SPANS.uploaderSeal,
          { root: true, attributes: segmentAttributes(segment), links: blockLinks(segment) },
          () => sealSegment(this.layout, segment),
        );
        sealed++;
      } finally {
        await lease.release();
      }
    }
    return sealed;

    function isDue(createdAt: number, bytes: number) {
      return bytes > 0 && (now - createdAt >= segmentMaxAgeMs || bytes >= segmentMaxBytes);
    }
  }

  async upload(app: string, segmentId: string): Promise<UploadOutcome> {
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
    try {
      const segment = await readSegment(this.layout.sealedDir(app, segmentId));
      if (!segment) return 'gone'; // another instance finished it
      if (segment.entries.length === 0) {
        await fs.rm(segment.dir, { recursive: true, force: true });
        return 'empty';
      }
      const started = Date.now();
      await this.uploadSegment(segment, () => lease.assertHeld());
      this.metrics.uploadDuration.observe((Date.now() - started) / 1000);
      return 'uploaded';
    } catch (err) {
      this.metrics.uploadErrors.inc({ step: 'upload' });
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
  private async uploadSegment(segment: SegmentState, assertHeld: () => Promise<void>) {
    const { prefix } = this.config.store;
    const { meta } = segment;
    const { app, segmentId } = meta;
    const key = segmentObjectKey(prefix, app, segmentId, meta.createdAt, meta.extension);
    const attributes = { ...segmentAttributes(segment), [ATTRS.objectKey]: key };
    const links = blockLinks(segment);
    await inSpan(SPANS.uploaderSegment, { root: true, attributes, links }, async () => {
      const stepAttributes = { [ATTRS.objectKey]: key };
      const md5 = await inSpan(SPANS.uploaderUpload, { attributes: stepAttributes }, async () => {
        const { md5 } = await fileMd5(segment.dataPath);
        const existing = await this.store.head(key);
        if (existing?.md5 !== md5 || existing.size !== segment.committedBytes) {
          await this.store.putFile(key, segment.dataPath, { md5 });
        }
        return md5;
      });
      await inSpan(SPANS.uploaderVerify, { attributes: stepAttributes }, async () => {
        const stored = await this.store.head(key);
        if (!stored || stored.size !== segment.committedBytes || stored.md5 !== md5) {
          throw new Error(
            `verification of ${key} failed: stored ${stored?.size ?? 'nothing'} bytes md5 ${stored?.md5}, local ${segment.committedBytes} bytes md5 ${md5}`,
          );
        }
      });
      const entry = buildIndexEntry(segment, key, md5, Date.now());
      const indexKey = indexEntryKey(prefix, app, segmentId, meta.createdAt);
      await inSpan(SPANS.uploaderIndex, { attributes: { [ATTRS.objectKey]: indexKey } }, () =>
        this.store.putBuffer(indexKey, Buffer.from(JSON.stringify(entry)), {
          contentType: 'application/json',
        }),
      );
      await inSpan(SPANS.uploaderDelete, {}, async () => {
        await assertHeld();
        await fs.rm(segment.dir, { recursive: true, force: true });
      });
      this.countArchived(app, entry.records, entry.bytes);
      this.log.log(
        `uploaded ${key}: ${entry.records} records, ${entry.rawBytes} → ${entry.bytes} bytes in ${entry.blocks.length} blocks`,
      );
    });
  }

  private countArchived(app: string, records: number, bytes: number): void {
    const label = this.metrics.app(app);
    this.metrics.recordsOut.inc({ app: label }, records);
    this.metrics.bytesOut.inc({ app: label }, bytes);
    this.metrics.segmentBytes.observe(bytes);
  }

  /** Open segments and the data bytes waiting on the spool, for the gauges. */
  private async spoolStats(apps: string[]): Promise<{ open: number; bytes: number }> {
    const stats = { open: 0, bytes: 0 };
    for (const app of apps) {
      const open = (await listDirs(this.layout.openRoot(app))).filter(
        (d) => parseSlotDirName(d) !== undefined,
      );
      const dirs = [
        ...open.map((d) => join(this.layout.openRoot(app), d)),
        ...(await this.sealedSegmentIds(app)).map((id) => this.layout.sealedDir(app, id)),
      ];
      for (const dir of dirs) {
        const files = await fs.readdir(dir).catch(() => [] as string[]);
        const data = files.find((f) => f.startsWith(`${SEGMENT_FILES.dataBase}.`));
        if (!data) continue;
        if (dir.startsWith(this.layout.openRoot(app))) stats.open++;
        stats.bytes += (await fs.stat(join(dir, data)).catch(() => ({ size: 0 }))).size;
      }
    }
    return stats;
  }

  /** One full pass: seal what is due, then upload every sealed segment. */
  async pass(): Promise<{ sealed: number; uploaded: number; failed: number }> {
    const totals = { sealed: 0, uploaded: 0, failed: 0 };
    const apps = await this.apps();
    const spool = await this.spoolStats(apps);
    this.metrics.openSegments.set(spool.open);
    this.metrics.spoolPendingBytes.set(spool.bytes);
    for (const app of apps) {
      // One app's damaged open segment must not stop the pass for every app after it.
      try {
        totals.sealed += await this.sealDue(app);
      } catch (err) {
        totals.failed++;
        this.metrics.uploadErrors.inc({ step: 'seal' });
        this.log.error(`sealing due segments of ${app} failed, will retry: ${String(err)}`);
      }
      for (const segmentId of await this.sealedSegmentIds(app)) {
        try {
          if ((await this.upload(app, segmentId)) === 'uploaded') totals.uploaded++;
        } catch (err) {
          totals.failed++;
          this.log.error(`upload of ${app}/${segmentId} failed, will retry: ${String(err)}`);
        }
      }
    }
    return totals;
  }
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
