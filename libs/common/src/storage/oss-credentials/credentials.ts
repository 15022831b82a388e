/** One set of keys OSS requests are signed with. */
export interface OssCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** STS token of temporary keys (sent as x-oss-security-token). */
  securityToken?: string;
  /** When temporary keys stop working (ms since the epoch); undefined for long-lived keys. */
  expiresAt?: number;
}

/** Where credentials come from, and which setting to name when they are refused. */
export interface CredentialSource {
  /** For messages: 'OSS_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ECS_METADATA (role logsplit)', ... */
  readonly describe: string;
  /** The setting an OSS error code points at (InvalidAccessKeyId → the key id's setting...). */
  blame(ossCode: string): string;
  fetch(): Promise<OssCredentials>;
}

/** Credentials could not be obtained; `setting` names what to fix. Worth retrying later. */
export class CredentialsError extends Error {
  constructor(
    readonly setting: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${setting}: ${message}`, options);
    this.name = 'CredentialsError';
  }
}

/** Expiration as STS and instance metadata write it ('2026-12-03T08:00:00Z'). */
export function parseExpiration(value: unknown, setting: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new CredentialsError(setting, `answer has no valid Expiration (${String(value)})`);
  }
  return ms;
}
