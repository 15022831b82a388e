import { Inject, Injectable, Logger } from '@nestjs/common';
import { promises as fs } from 'node:fs';
import {
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
        await sealSegment(this.layout, segment);
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
      const { prefix } = this.config.store;
      const { meta } = segment;
      const key = segmentObjectKey(prefix, app, segmentId, meta.createdAt, meta.extension);
      const { md5 } = await fileMd5(segment.dataPath);

      const existing = await this.store.head(key);
      if (existing?.md5 !== md5 || existing.size !== segment.committedBytes) {
        await this.store.putFile(key, segment.dataPath, { md5 });
      }
      const stored = await this.store.head(key);
      if (!stored || stored.size !== segment.committedBytes || stored.md5 !== md5) {
        throw new Error(
          `verification of ${key} failed: stored ${stored?.size ?? 'nothing'} bytes md5 ${stored?.md5}, local ${segment.committedBytes} bytes md5 ${md5}`,
        );
      }
      const entry = buildIndexEntry(segment, key, md5, Date.now());
      await this.store.putBuffer(
        indexEntryKey(prefix, app, segmentId, meta.createdAt),
        Buffer.from(JSON.stringify(entry)),
        { contentType: 'application/json' },
      );
      await lease.assertHeld();
      await fs.rm(segment.dir, { recursive: true, force: true });
      this.log.log(
        `uploaded ${key}: ${entry.records} records, ${entry.rawBytes} → ${entry.bytes} bytes in ${entry.blocks.length} blocks`,
      );
      return 'uploaded';
    } finally {
      await lease.release();
    }
  }

  /** One full pass: seal what is due, then upload every sealed segment. */
  async pass(): Promise<{ sealed: number; uploaded: number; failed: number }> {
    const totals = { sealed: 0, uploaded: 0, failed: 0 };
    for (const app of await this.apps()) {
      // One app's damaged open segment must not stop the pass for every app after it.
      try {
        totals.sealed += await this.sealDue(app);
      } catch (err) {
        totals.failed++;
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
