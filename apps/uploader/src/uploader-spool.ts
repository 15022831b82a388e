import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isSafeAppId, listDirs, SEGMENT_FILES, SegmentState, SpoolLayout } from '@logsplit/common';

/** Where deleted segments go first: not an app id (ids start with a letter or digit). */
const TRASH_DIR = '_trash';

/** The spool as the uploader sees it: apps, sealed segments, and removal in one rename. */
export class UploaderSpool {
  readonly layout: SpoolLayout;

  constructor(spoolDir: string) {
    this.layout = new SpoolLayout(spoolDir);
  }

  /** Apps present on the spool (directory names that are valid app ids). */
  async apps(): Promise<string[]> {
    return (await listDirs(this.layout.root)).filter(isSafeAppId);
  }

  sealedSegmentIds(app: string): Promise<string[]> {
    return listDirs(this.layout.sealedRoot(app));
  }

  /** Data bytes of sealed segments waiting on the spool, for the gauge. */
  async sealedBytes(app: string, segmentIds: readonly string[]): Promise<number> {
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
   * Takes the segment off the spool in one atomic rename out of sealed/, then deletes it, so a
   * crash midway never leaves half a segment that looks uploadable (e.g. a manifest without data).
   */
  removeSegment(segment: SegmentState): Promise<void> {
    return this.remove(segment.dir, `${segment.meta.app}.${segment.meta.segmentId}`);
  }

  /** Removes a directory the same way: renamed into the trash first. */
  async remove(dir: string, name: string): Promise<void> {
    const trash = join(this.layout.root, TRASH_DIR);
    await fs.mkdir(trash, { recursive: true });
    const target = join(trash, `${name}.${randomBytes(4).toString('hex')}`);
    await fs.rename(dir, target);
    await fs.rm(target, { recursive: true, force: true });
  }

  /** Deletes what a crash left in the trash; `failed` hears of what could not be deleted. */
  async emptyTrash(failed: (path: string, err: unknown) => void): Promise<void> {
    const trash = join(this.layout.root, TRASH_DIR);
    for (const name of await listDirs(trash)) {
      await fs.rm(join(trash, name), { recursive: true, force: true }).catch((err: unknown) => {
        failed(join(trash, name), err);
      });
    }
  }
}
