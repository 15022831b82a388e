/**
 * The store already holds different bytes under a key logsplit is about to write: two segments
 * mapped to one key, or someone changed the archive. Never resolved by overwriting: the local
 * segment stays on the spool, and every pass says so again until a person decides.
 */
export class ArchiveConflictError extends Error {
  constructor(
    readonly key: string,
    stored: string,
    local: string,
  ) {
    super(
      `refusing to overwrite ${key}: the store holds ${stored}, this upload has ${local}. ` +
        'The local segment stays on the spool; compare the two and move the wrong one aside.',
    );
    this.name = 'ArchiveConflictError';
  }
}
