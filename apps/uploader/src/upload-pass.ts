import {
  mapLimit,
  SpoolMeasured,
  StageEvents,
  TrashNotEmptied,
  UploadDeferred,
} from '@logsplit/common';
import { CommitWaits } from './commit-waits';
import { SegmentUpload } from './segment-upload';
import { SpoolSweeper } from './spool-sweeper';
import { SegmentRef, uploadEach } from './upload-each';
import { UploaderSpool } from './uploader-spool';

export interface PassTotals {
  sealed: number;
  uploaded: number;
  /** Sealed segments held back until the compressor commits their input. */
  waiting: number;
  failed: number;
}

/**
 * One full pass over the spool: sweep each app's open segments (seal what is due), then upload
 * every sealed segment whose input is committed, with one look-up of the committed offsets for
 * the whole pass. Apps are swept and segments uploaded `concurrency` at a time: each step mostly
 * waits (fsync, the store, Redis).
 */
export class UploadPass {
  constructor(
    private readonly concurrency: number,
    private readonly spool: UploaderSpool,
    private readonly sweeper: Pick<SpoolSweeper, 'sweep'>,
    private readonly uploads: Pick<SegmentUpload, 'upload' | 'commitSnapshot'>,
    private readonly waits: CommitWaits,
    private readonly events: StageEvents,
  ) {}

  async pass(): Promise<PassTotals> {
    const totals: PassTotals = { sealed: 0, uploaded: 0, waiting: 0, failed: 0 };
    await this.spool.emptyTrash((path, error) =>
      this.events.emit(new TrashNotEmptied({ path, error })),
    );
    const segments: SegmentRef[] = [];
    const measured = { openSegments: 0, pendingBytes: 0 };
    await mapLimit(await this.spool.apps(), this.concurrency, async (app) => {
      // One app's damaged open segment must not stop the pass for every app after it.
      try {
        const swept = await this.sweeper.sweep(app, Date.now());
        totals.sealed += swept.sealed;
        measured.openSegments += swept.open;
        measured.pendingBytes += swept.openBytes;
      } catch (error) {
        totals.failed++;
        const what = `sealing due segments of ${app}`;
        this.events.emit(new UploadDeferred({ what, error, seal: true }));
      }
      const ids = await this.spool.sealedSegmentIds(app);
      for (const segmentId of ids) segments.push({ app, segmentId });
      const bytes = await this.spool.sealedBytes(app, ids); // not `+= await`: lanes would race
      measured.pendingBytes += bytes;
    });
    this.events.emit(new SpoolMeasured(measured));

    const commits = this.uploads.commitSnapshot();
    const waiting = new Set<string>();
    const upload = ({ app, segmentId }: SegmentRef) => this.uploads.upload(app, segmentId, commits);
    await uploadEach(segments, this.concurrency, upload, ({ app, segmentId }, outcome) => {
      if (outcome === 'uploaded') totals.uploaded++;
      if (outcome === 'uncommitted') {
        totals.waiting++;
        waiting.add(`${app}/${segmentId}`);
      }
      if (outcome instanceof Error) {
        totals.failed++;
        this.events.emit(
          new UploadDeferred({ what: `upload of ${app}/${segmentId}`, error: outcome }),
        );
      }
    });
    this.waits.keepOnly(waiting);
    return totals;
  }
}
