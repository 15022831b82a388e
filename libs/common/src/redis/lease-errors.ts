/** No slot of `resource` became free within the wait timeout. */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  constructor(
    readonly resource: string,
    readonly slots: number,
    readonly waitedMs: number,
    /** The last Redis error seen while trying, if attempts failed rather than found slots busy. */
    readonly lastError?: unknown,
  ) {
    super(
      `no free slot of ${slots} for "${resource}" after ${waitedMs} ms` +
        (lastError instanceof Error ? ` (last Redis error: ${lastError.message})` : ''),
      lastError === undefined ? undefined : { cause: lastError },
    );
  }
}

/** Why a lease ended without being released by its holder. */
export type LeaseLossReason =
  /** A renewal found the key gone or owned by another token (expired and possibly re-acquired). */
  | 'taken'
  /** No renewal succeeded before the TTL ran out (Redis unreachable, or auto-renew disabled). */
  | 'expired'
  /** A fencing check found a newer fence on the slot: another holder has acquired it since. */
  | 'fenced'
  /** Not a loss: `assertHeld()` was called after `release()`. */
  | 'released';

/** The reason an aborted `Lease.signal` carries. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(
    readonly resource: string,
    readonly slot: number,
    readonly reason: LeaseLossReason,
  ) {
    super(`lease on slot ${slot} of "${resource}" lost: ${reason}`);
  }
}

/** A resource name that cannot be used inside a Redis key / hash tag. */
export class InvalidResourceNameError extends Error {
  override readonly name = 'InvalidResourceNameError';
  constructor(readonly resource: string) {
    super(
      `invalid lease resource name ${JSON.stringify(resource)}: ` +
        'use 1-512 characters from [A-Za-z0-9._:-]',
    );
  }
}
