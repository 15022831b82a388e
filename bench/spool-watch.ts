import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { IndexEntry, ManifestEntry } from '@logsplit/common';

/** One durable block as the bench sees it (from a manifest line, or an index entry's blocks[]). */
export interface SeenBlock {
  app: string;
  records: number;
  length: number;
  /** Known only from the manifest. */
  rawBytes?: number;
  minTime: number;
  maxTime: number;
  /** Known only from the manifest (the spool); undefined when the segment was uploaded unseen. */
  appendedAt?: number;
}

export interface SeenObject {
  app: string;
  bytes: number;
  rawBytes: number;
  records: number;
  createdAt: number;
  uploadedAt: number;
}

async function list(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch {
    return [];
  }
}

/**
 * Follows a running pipeline from the outside: the manifests on the spool (open and sealed
 * segments) and the index entries in the bucket. Blocks are keyed by segment and offset, so a
 * block seen first on the spool and later in the index counts once.
 */
export class SpoolWatch {
  readonly blocks = new Map<string, SeenBlock>();
  readonly objects = new Map<string, SeenObject>();
  private readonly manifestSizes = new Map<string, number>();

  constructor(
    private readonly spoolDir: string,
    private readonly indexDir: string,
  ) {}

  get durableRecords(): number {
    let n = 0;
    for (const b of this.blocks.values()) n += b.records;
    return n;
  }

  get uploadedRecords(): number {
    let n = 0;
    for (const o of this.objects.values()) n += o.records;
    return n;
  }

  async poll(): Promise<void> {
    await this.pollSpool();
    await this.pollIndex();
  }

  private async pollSpool(): Promise<void> {
    for (const app of await list(this.spoolDir)) {
      for (const state of ['open', 'sealed']) {
        const base = join(this.spoolDir, app, state);
        for (const seg of await list(base)) await this.readManifest(app, join(base, seg));
      }
    }
  }

  private async readManifest(app: string, dir: string): Promise<void> {
    try {
      const path = join(dir, 'manifest.jsonl');
      const { size } = await fs.stat(path);
      if (this.manifestSizes.get(path) === size) return;
      const meta = JSON.parse(await fs.readFile(join(dir, 'meta.json'), 'utf8')) as {
        segmentId: string;
      };
      const text = await fs.readFile(path, 'utf8');
      this.manifestSizes.set(path, size);
      for (const line of text.split('\n')) {
        if (!line) continue;
        let e: ManifestEntry;
        try {
          e = JSON.parse(line) as ManifestEntry;
        } catch {
          continue; // a torn last line, completed on a later poll
        }
        this.blocks.set(`${app}|${meta.segmentId}|${e.offset}`, {
          app,
          records: e.records,
          length: e.length,
          rawBytes: e.rawBytes,
          minTime: e.minTime,
          maxTime: e.maxTime,
          appendedAt: e.appendedAt,
        });
      }
    } catch {
      // Sealed or uploaded between listing and reading: seen again under sealed/ or the index.
    }
  }

  private async pollIndex(): Promise<void> {
    const walk = async (dir: string): Promise<void> => {
      for (const name of await list(dir)) {
        const path = join(dir, name);
        if (!name.endsWith('.json')) {
          await walk(path);
          continue;
        }
        if (this.objects.has(path)) continue;
        let e: IndexEntry;
        try {
          e = JSON.parse(await fs.readFile(path, 'utf8')) as IndexEntry;
        } catch {
          continue;
        }
        this.objects.set(path, {
          app: e.app,
          bytes: e.bytes,
          rawBytes: e.rawBytes,
          records: e.records,
          createdAt: e.createdAt,
          uploadedAt: e.uploadedAt,
        });
        for (const b of e.blocks) {
          const key = `${e.app}|${e.segmentId}|${b.offset}`;
          if (!this.blocks.has(key)) this.blocks.set(key, { app: e.app, ...b });
        }
      }
    };
    await walk(this.indexDir);
  }
}
