import { rememberSecret } from '../../config/secrets';
import { CredentialSource, CredentialsError, OssCredentials } from './credentials';

/** Refresh this long before expiry at most (Alibaba's SDKs: 15 minutes)... */
const MAX_REFRESH_AHEAD_MS = 15 * 60_000;
/** ...and at least after half the lifetime, so short-lived keys are renewed well before expiry. */
const REFRESH_AT_LIFETIME_SHARE = 0.5;
/** Keys are not handed out for a request in their last tenth of life (at most a minute). */
const MAX_EXPIRY_GUARD_MS = 60_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

interface Held {
  credentials: OssCredentials;
  refreshAt: number;
  usableUntil: number;
}

/**
 * Credentials of one source, cached and renewed before they expire. get() answers at once from
 * the cache while the keys are fresh; past their refresh time it still answers with them and
 * fetches new ones in the background (one fetch at a time; after a failure the next waits, with
 * backoff), so requests never wait for the credentials endpoint while the old keys work. Only
 * keys that are unusable (none yet, expired or about to) make get() wait for a fetch, and throw
 * CredentialsError when it fails. Every secret and token fetched is remembered for log masking.
 */
export class RefreshingCredentials {
  private held?: Held;
  private inflight?: Promise<Held>;
  private failures = 0;
  private retryAt = 0;
  /** The last background refresh failure while the held keys still worked. */
  lastError?: Error;

  constructor(
    readonly source: CredentialSource,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(): Promise<OssCredentials> {
    const now = this.clock();
    const held = this.held;
    if (held && now < held.refreshAt) return held.credentials;
    if (held && now < held.usableUntil) {
      if (now >= this.retryAt) {
        void this.refresh().catch((err: Error) =>
          warn(
            `${err.message}; renewal retried in ${this.retryAt - this.clock()} ms, the current ` +
              `keys work until ${new Date(held.usableUntil).toISOString()}`,
          ),
        );
      }
      return held.credentials;
    }
    return (await this.refresh()).credentials;
  }

  /** OSS refused the token (expired or revoked): the next get() fetches new keys. */
  invalidate(): void {
    this.held = undefined;
  }

  /** When the held keys are due for renewal (for tests and messages). */
  get refreshAt(): number | undefined {
    return this.held?.refreshAt;
  }

  private refresh(): Promise<Held> {
    this.inflight ??= this.fetch().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async fetch(): Promise<Held> {
    const fetchedAt = this.clock();
    try {
      const credentials = await this.source.fetch();
      rememberSecret(credentials.accessKeySecret);
      rememberSecret(credentials.securityToken);
      const held = hold(credentials, fetchedAt);
      this.held = held;
      this.failures = 0;
      this.retryAt = 0;
      this.lastError = undefined;
      return held;
    } catch (err) {
      this.failures++;
      const backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.failures - 1));
      this.retryAt = this.clock() + backoff;
      const error =
        err instanceof CredentialsError
          ? err
          : new CredentialsError(this.source.describe, String(err), { cause: err });
      this.lastError = error;
      throw error;
    }
  }
}

/** Renewal and last-use times of freshly fetched keys. */
export function hold(credentials: OssCredentials, fetchedAt: number): Held {
  const expiresAt = credentials.expiresAt;
  if (expiresAt === undefined) return { credentials, refreshAt: Infinity, usableUntil: Infinity };
  const lifetime = Math.max(0, expiresAt - fetchedAt);
  const ahead = Math.min(MAX_REFRESH_AHEAD_MS, lifetime * REFRESH_AT_LIFETIME_SHARE);
  const guard = Math.min(MAX_EXPIRY_GUARD_MS, lifetime / 10);
  return { credentials, refreshAt: expiresAt - ahead, usableUntil: expiresAt - guard };
}

/** A warning in the service's log. Nest is loaded only then: the CLI's store path stays light. */
function warn(message: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Logger } = require('@nestjs/common') as typeof import('@nestjs/common');
  new Logger('OssCredentials').warn(message);
}
