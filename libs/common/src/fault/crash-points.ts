/**
 * Named moments at which a test can make a service die as abruptly as a power cut (SIGKILL to
 * itself), to prove that recovery from exactly that moment loses and duplicates nothing. Random
 * kills rarely land in the narrow windows that matter; these make them land there on purpose.
 *
 * Off unless LOGSPLIT_CRASH_AT is set: `point` crashes the first time the point is reached,
 * `point:n` the n-th time. Never set it in production.
 */
export const CRASH_POINTS = [
  /** splitter: chunks produced in the transaction, transaction not yet committed. */
  'splitter.before-commit',
  /** compressor: slot lease held, block not yet written. */
  'compressor.holding-lock',
  /** compressor: block data written, its manifest line not yet (a torn tail). */
  'compressor.after-block',
  /** compressor: some apps of the batch appended, the others not. */
  'compressor.mid-batch',
  /** compressor: every block of the batch durable, offsets not yet committed. */
  'compressor.before-commit',
  /** uploader: object uploaded and verified, index entry not yet written. */
  'uploader.after-upload',
  /** uploader: index entry written, local segment not yet deleted. */
  'uploader.after-index',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

interface Armed {
  point: CrashPoint;
  remaining: number;
}

let armed: Armed | undefined | null = null;

/** Parses LOGSPLIT_CRASH_AT; an unknown point is a configuration error, not a silent no-op. */
export function parseCrashAt(value: string | undefined): Armed | undefined {
  if (!value) return undefined;
  const m = /^([a-z.-]+)(?::(\d+))?$/.exec(value.trim());
  const point = m?.[1] as CrashPoint | undefined;
  if (!m || !point || !CRASH_POINTS.includes(point) || m[2] === '0') {
    throw new Error(
      `LOGSPLIT_CRASH_AT=${JSON.stringify(value)} is not one of ${CRASH_POINTS.join(', ')} (optionally :n for the n-th time)`,
    );
  }
  return { point, remaining: m[2] ? Number(m[2]) : 1 };
}

/** Dies here if this is the armed point and its count is reached; otherwise does nothing. */
export function crashPoint(point: CrashPoint): void {
  if (armed === null) armed = parseCrashAt(process.env.LOGSPLIT_CRASH_AT);
  if (!armed || armed.point !== point || --armed.remaining > 0) return;
  process.stderr.write(`logsplit: crash point ${point} reached: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
