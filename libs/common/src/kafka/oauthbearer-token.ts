import { readFileSync, statSync } from 'node:fs';
import type { OauthbearerProviderResponse } from 'kafkajs';
import { rememberSecret } from '../config/secrets';

/** Re-read the file this long before the token's `exp`, in case its refresher already ran. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;

export interface OauthBearerTokenSource {
  /** The token to authenticate with now (kafkajs calls this on every (re)authentication). */
  current(): Promise<OauthbearerProviderResponse>;
  /** When the token in hand expires (ms since the epoch), if it is a JWT with `exp`. */
  expiresAt(): number | undefined;
}

/**
 * The OAUTHBEARER token kept in a file that something else (a sidecar, the platform) rewrites
 * before it expires. The file is read again when it changed (mtime or size) or when the token in
 * hand is within TOKEN_REFRESH_MARGIN_MS of its `exp`; otherwise the cached token is reused.
 */
export function oauthBearerTokenFile(file: string, now = Date.now): OauthBearerTokenSource {
  let token: string | undefined;
  let stamp = '';
  let exp: number | undefined;
  const read = () => {
    const st = statSync(file);
    const next = `${st.mtimeMs}:${st.size}`;
    const expiring = exp !== undefined && exp - now() < TOKEN_REFRESH_MARGIN_MS;
    if (token !== undefined && next === stamp && !expiring) return;
    const value = readFileSync(file, 'utf8').trim();
    if (value === '') throw new Error(`KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: ${file} is empty`);
    rememberSecret(value);
    token = value;
    stamp = next;
    exp = jwtExpiry(value);
  };
  return {
    current: async () => {
      read();
      return { value: token! };
    },
    expiresAt: () => exp,
  };
}

/** The `exp` claim of a JWT in ms, or undefined for anything else (opaque tokens). */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
