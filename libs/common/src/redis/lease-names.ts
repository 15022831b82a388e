import { createHash } from 'node:crypto';

/**
 * Lease resource of an app's writer slots. App ids that a loosened pattern admits (Unicode,
 * spaces) are outside the characters lease names allow, so those are named by their hash.
 */
export function appSlotsResource(app: string): string {
  return /^[A-Za-z0-9._-]{1,200}$/.test(app)
    ? `app:${app}`
    : `apphash:${createHash('sha256').update(app).digest('hex').slice(0, 40)}`;
}

/** Lease resource that makes one uploader at a time handle a segment. */
export function segmentUploadResource(app: string, segmentId: string): string {
  return `upload:${appSlotsResource(app)}:${segmentId}`;
}

/**
 * Lease resource that fences one partition of a topic: its holder alone appends that partition's
 * chunks, so what it finds on the spool after taking it is complete (no former owner adds more).
 */
export function partitionResource(topic: string, partition: number): string {
  return `partition:${topic}:${partition}`;
}
