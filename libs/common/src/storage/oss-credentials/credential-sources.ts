import { readFile } from 'node:fs/promises';
import type { EcsRoleSettings, OidcSettings } from '../../config/oss-settings';
import { rememberSecret } from '../../config/secrets';
import { CredentialSource, CredentialsError, OssCredentials, parseExpiration } from './credentials';
import { httpJson, httpText } from './http-json';

const TIMEOUT_MS = 5_000;
/** Instance metadata is link-local: as the SDKs, give up after 1 s (and within a health probe). */
const METADATA_TIMEOUT_MS = 1_000;
/** As Alibaba's SDKs ask for: a metadata token valid for 6 hours, STS sessions of 1 hour. */
const METADATA_TOKEN_TTL_S = 21_600;
const STS_SESSION_S = 3_600;

/** OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET (+ OSS_SECURITY_TOKEN): what is set is used. */
export function staticSource(c: OssCredentials): CredentialSource {
  return {
    describe: 'OSS_ACCESS_KEY_ID',
    blame: (code) => {
      if (code === 'SignatureDoesNotMatch') return 'OSS_ACCESS_KEY_SECRET';
      if (/SecurityToken/.test(code)) return 'OSS_SECURITY_TOKEN';
      return 'OSS_ACCESS_KEY_ID';
    },
    fetch: () => Promise.resolve(c),
  };
}

/** Temporary keys from an answer of STS, instance metadata or a credentials URI. */
function sessionFrom(data: Record<string, unknown>, setting: string): OssCredentials {
  const { AccessKeyId, AccessKeySecret, SecurityToken, Expiration } = data;
  if (
    typeof AccessKeyId !== 'string' ||
    typeof AccessKeySecret !== 'string' ||
    typeof SecurityToken !== 'string' ||
    !AccessKeyId ||
    !AccessKeySecret ||
    !SecurityToken
  ) {
    throw new CredentialsError(
      setting,
      'answer lacks AccessKeyId, AccessKeySecret or SecurityToken',
    );
  }
  return {
    accessKeyId: AccessKeyId,
    accessKeySecret: AccessKeySecret,
    securityToken: SecurityToken,
    expiresAt: parseExpiration(Expiration, setting),
  };
}

function dynamicSource(describe: string, fetch: () => Promise<OssCredentials>): CredentialSource {
  return { describe, blame: () => `credentials from ${describe}`, fetch };
}

/**
 * ECS RAM role: the instance metadata service's credentials for the role, with an IMDSv2 session
 * token first (falling back to IMDSv1 unless ALIBABA_CLOUD_IMDSV1_DISABLED), as the SDKs do.
 */
export function ecsRoleSource(s: EcsRoleSettings): CredentialSource {
  const setting = 'ALIBABA_CLOUD_ECS_METADATA';
  const base = s.metadataEndpoint;
  const metadataToken = async (): Promise<string | undefined> => {
    try {
      return await httpText(setting, {
        method: 'PUT',
        url: `${base}/latest/api/token`,
        headers: { 'x-aliyun-ecs-metadata-token-ttl-seconds': String(METADATA_TOKEN_TTL_S) },
        timeoutMs: METADATA_TIMEOUT_MS,
      });
    } catch (err) {
      if (s.imdsV1Disabled) throw err;
      return undefined;
    }
  };
  return dynamicSource(`${setting} (role ${s.roleName})`, async () => {
    const token = await metadataToken();
    const data = await httpJson(setting, {
      method: 'GET',
      url: `${base}/latest/meta-data/ram/security-credentials/${encodeURIComponent(s.roleName)}`,
      headers: token === undefined ? {} : { 'x-aliyun-ecs-metadata-token': token },
      timeoutMs: METADATA_TIMEOUT_MS,
    });
    if (data.Code !== undefined && data.Code !== 'Success') {
      throw new CredentialsError(
        setting,
        `instance metadata answered Code ${JSON.stringify(data.Code)}`,
      );
    }
    return sessionFrom(data, setting);
  });
}

/**
 * RRSA on ACK: the pod's OIDC token (re-read each time: the kubelet rotates it) exchanged with STS
 * AssumeRoleWithOIDC for the role's temporary keys. The call needs no signature.
 */
export function oidcSource(s: OidcSettings): CredentialSource {
  const setting = 'ALIBABA_CLOUD_ROLE_ARN';
  return dynamicSource(`${setting} (${s.roleArn})`, async () => {
    let oidcToken: string;
    try {
      oidcToken = (await readFile(s.tokenFile, 'utf8')).trim();
      rememberSecret(oidcToken); // a bearer token: masked in logs like the keys it buys
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new CredentialsError(
        'ALIBABA_CLOUD_OIDC_TOKEN_FILE',
        `cannot read ${JSON.stringify(s.tokenFile)} (${code})`,
        { cause: err },
      );
    }
    const query = new URLSearchParams({
      Action: 'AssumeRoleWithOIDC',
      Format: 'JSON',
      Version: '2015-04-01',
      Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    const body = new URLSearchParams({
      OIDCProviderArn: s.providerArn,
      OIDCToken: oidcToken,
      RoleArn: s.roleArn,
      RoleSessionName: s.sessionName,
      DurationSeconds: String(STS_SESSION_S),
    });
    const data = await httpJson(setting, {
      method: 'POST',
      url: `${s.stsEndpoint.replace(/\/+$/, '')}/?${query.toString()}`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
      timeoutMs: TIMEOUT_MS,
    });
    const credentials = data.Credentials;
    if (typeof credentials !== 'object' || credentials === null) {
      throw new CredentialsError(setting, 'STS answer has no Credentials');
    }
    return sessionFrom(credentials as Record<string, unknown>, setting);
  });
}

/** ALIBABA_CLOUD_CREDENTIALS_URI: GET answers the keys as instance metadata does. */
export function uriSource(uri: string): CredentialSource {
  const setting = 'ALIBABA_CLOUD_CREDENTIALS_URI';
  return dynamicSource(setting, async () => {
    const data = await httpJson(setting, { method: 'GET', url: uri, timeoutMs: TIMEOUT_MS });
    if (data.Code !== undefined && data.Code !== 'Success') {
      throw new CredentialsError(setting, `answered Code ${JSON.stringify(data.Code)}`);
    }
    return sessionFrom(data, setting);
  });
}
