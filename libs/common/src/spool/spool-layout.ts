import { join } from 'node:path';

/**
 * Where segments live on the shared spool (a NAS in production):
 *
 *   <spool>/<app>/open/slot-<k>/{meta.json,manifest.jsonl,data.log.gz}   written by slot k's holder
 *   <spool>/<app>/sealed/<segmentId>/{...same files}                    waiting for the uploader
 *
 * A segment is sealed by renaming its directory, one atomic step, so the uploader never sees a
 * half-sealed segment and a writer never appends to a sealed one.
 */
export class SpoolLayout {
  constructor(readonly root: string) {}

  appDir(app: string): string {
    return join(this.root, app);
  }

  openDir(app: string, slot: number): string {
    return join(this.root, app, 'open', `slot-${slot}`);
  }

  openRoot(app: string): string {
    return join(this.root, app, 'open');
  }

  sealedRoot(app: string): string {
    return join(this.root, app, 'sealed');
  }

  sealedDir(app: string, segmentId: string): string {
    return join(this.root, app, 'sealed', segmentId);
  }
}

export const SEGMENT_FILES = {
  meta: 'meta.json',
  manifest: 'manifest.jsonl',
  /** The data file's name is `data` + the codec's extension, e.g. data.log.gz. */
  dataBase: 'data',
} as const;

export function dataFileName(extension: string): string {
  return SEGMENT_FILES.dataBase + extension;
}

export function parseSlotDirName(name: string): number | undefined {
  const m = /^slot-(\d{1,4})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
