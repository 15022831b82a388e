import { z } from 'zod';

// OSS credentials, encryption and storage class. Credential settings use the names Alibaba's own
// SDKs read (ALIBABA_CLOUD_*), so an ACK pod with RRSA or an ECS instance with a RAM role works
// with what its platform already injects.

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (example: string) =>
  z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, `must be an http(s) URL like ${example}`);

/** OSS's storage classes (x-oss-storage-class). Archive classes must be restored before reads. */
export const OSS_STORAGE_CLASSES = [
  'Standard',
  'IA',
  'Archive',
  'ColdArchive',
  'DeepColdArchive',
] as const;
export type OssStorageClass = (typeof OSS_STORAGE_CLASSES)[number];

export const ossSettingsShape = {
  /** STS token that goes with OSS_ACCESS_KEY_ID/_SECRET (temporary keys handed in from outside). */
  OSS_SECURITY_TOKEN: z.string().min(1).optional(),
  // RRSA / OIDC (ACK injects these three when the pod's ServiceAccount is annotated).
  ALIBABA_CLOUD_ROLE_ARN: z
    .string()
    .regex(/^acs:ram::/, 'must be a RAM role ARN like acs:ram::123:role/name')
    .optional(),
  ALIBABA_CLOUD_OIDC_PROVIDER_ARN: z
    .string()
    .regex(
      /^acs:ram::/,
      'must be an OIDC provider ARN like acs:ram::123:oidc-provider/ack-rrsa-c123',
    )
    .optional(),
  ALIBABA_CLOUD_OIDC_TOKEN_FILE: z.string().min(1).optional(),
  ALIBABA_CLOUD_ROLE_SESSION_NAME: z
    .string()
    .regex(/^[\w.@-]{2,64}$/, 'must be 2-64 characters of [A-Za-z0-9_.@-]')
    .optional(),
  /** STS host (sts-vpc.cn-hangzhou.aliyuncs.com) or URL; default from ALIBABA_CLOUD_STS_REGION. */
  ALIBABA_CLOUD_STS_ENDPOINT: z.string().min(1).optional(),
  ALIBABA_CLOUD_STS_REGION: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be a region id like cn-hangzhou')
    .optional(),
  ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED: bool.optional(),
  // ECS RAM role from instance metadata.
  ALIBABA_CLOUD_ECS_METADATA: z
    .string()
    .regex(/^[\w.@-]{1,64}$/, 'must be the RAM role name attached to the instance')
    .optional(),
  ALIBABA_CLOUD_IMDSV1_DISABLED: bool.optional(),
  /** Where instance metadata is; only tests change it. */
  LOGSPLIT_ECS_METADATA_ENDPOINT: url('http://100.100.100.200').default('http://100.100.100.200'),
  /** A URL answering {AccessKeyId, AccessKeySecret, SecurityToken, Expiration}. */
  ALIBABA_CLOUD_CREDENTIALS_URI: url('http://127.0.0.1:8080/credentials').optional(),
  // Encryption at rest and storage class of every object and index entry written.
  OSS_SERVER_SIDE_ENCRYPTION: z.enum(['AES256', 'KMS', 'SM4']).optional(),
  OSS_SSE_KMS_KEY_ID: z.string().min(1).optional(),
  OSS_STORAGE_CLASS: z.enum(OSS_STORAGE_CLASSES).optional(),
};

type OssEnv = z.infer<z.ZodObject<typeof ossSettingsShape>> & {
  OSS_ENDPOINT?: string;
  OSS_REGION?: string;
  OSS_BUCKET?: string;
  OSS_ACCESS_KEY_ID?: string;
  OSS_ACCESS_KEY_SECRET?: string;
  OSS_TIMEOUT_MS: number;
};

export interface OidcSettings {
  roleArn: string;
  providerArn: string;
  tokenFile: string;
  sessionName: string;
  /** Full URL of the STS endpoint. */
  stsEndpoint: string;
}

export interface EcsRoleSettings {
  roleName: string;
  metadataEndpoint: string;
  imdsV1Disabled: boolean;
}

export interface OssSettings {
  endpoint: string;
  region?: string;
  bucket: string;
  timeoutMs: number;
  /** Static keys: OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET (+ OSS_SECURITY_TOKEN). */
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  /** RRSA: ALIBABA_CLOUD_ROLE_ARN + _OIDC_PROVIDER_ARN + _OIDC_TOKEN_FILE. */
  oidc?: OidcSettings;
  /** ALIBABA_CLOUD_ECS_METADATA. */
  ecsRole?: EcsRoleSettings;
  /** ALIBABA_CLOUD_CREDENTIALS_URI. */
  credentialsUri?: string;
  serverSideEncryption?: 'AES256' | 'KMS' | 'SM4';
  kmsKeyId?: string;
  storageClass?: OssStorageClass;
}

const OIDC_VARS = [
  'ALIBABA_CLOUD_ROLE_ARN',
  'ALIBABA_CLOUD_OIDC_PROVIDER_ARN',
  'ALIBABA_CLOUD_OIDC_TOKEN_FILE',
] as const;

/**
 * The credential source, chosen in the order of Alibaba's default credential chain: static keys,
 * RRSA (OIDC), ECS RAM role, credentials URI. The first one configured is used, and only it: a
 * failure is reported against its settings instead of falling through to another identity.
 */
export type CredentialSourceKind = 'static' | 'oidc' | 'ecs-role' | 'uri';

export function credentialSourceOf(s: OssSettings): CredentialSourceKind | undefined {
  if (s.accessKeyId && s.accessKeySecret) return 'static';
  if (s.oidc) return 'oidc';
  if (s.ecsRole) return 'ecs-role';
  if (s.credentialsUri) return 'uri';
  return undefined;
}

export function ossFromEnv(e: OssEnv): OssSettings {
  return {
    endpoint: e.OSS_ENDPOINT!,
    region: e.OSS_REGION,
    bucket: e.OSS_BUCKET!,
    timeoutMs: e.OSS_TIMEOUT_MS,
    accessKeyId: e.OSS_ACCESS_KEY_ID,
    accessKeySecret: e.OSS_ACCESS_KEY_SECRET,
    securityToken: e.OSS_SECURITY_TOKEN,
    oidc: OIDC_VARS.every((v) => e[v])
      ? {
          roleArn: e.ALIBABA_CLOUD_ROLE_ARN!,
          providerArn: e.ALIBABA_CLOUD_OIDC_PROVIDER_ARN!,
          tokenFile: e.ALIBABA_CLOUD_OIDC_TOKEN_FILE!,
          sessionName: e.ALIBABA_CLOUD_ROLE_SESSION_NAME ?? `logsplit-${Date.now()}`,
          stsEndpoint: stsEndpoint(e),
        }
      : undefined,
    ecsRole: e.ALIBABA_CLOUD_ECS_METADATA
      ? {
          roleName: e.ALIBABA_CLOUD_ECS_METADATA,
          metadataEndpoint: e.LOGSPLIT_ECS_METADATA_ENDPOINT.replace(/\/+$/, ''),
          imdsV1Disabled: e.ALIBABA_CLOUD_IMDSV1_DISABLED ?? false,
        }
      : undefined,
    credentialsUri: e.ALIBABA_CLOUD_CREDENTIALS_URI,
    serverSideEncryption: e.OSS_SERVER_SIDE_ENCRYPTION,
    kmsKeyId: e.OSS_SSE_KMS_KEY_ID,
    storageClass: e.OSS_STORAGE_CLASS,
  };
}

/** As the SDKs: an explicit endpoint, else sts[-vpc].<region>.aliyuncs.com, else sts.aliyuncs.com. */
function stsEndpoint(e: OssEnv): string {
  const explicit = e.ALIBABA_CLOUD_STS_ENDPOINT;
  if (explicit) return /^https?:\/\//.test(explicit) ? explicit : `https://${explicit}`;
  const region = e.ALIBABA_CLOUD_STS_REGION;
  if (!region) return 'https://sts.aliyuncs.com';
  return `https://sts${e.ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED ? '-vpc' : ''}.${region}.aliyuncs.com`;
}

/** Problems of a LOGSPLIT_STORE_DRIVER=oss setup, each naming a variable. */
export function ossProblems(e: OssEnv): string[] {
  const problems: string[] = [];
  for (const name of ['OSS_ENDPOINT', 'OSS_BUCKET'] as const) {
    if (!e[name]) problems.push(`${name}: required when LOGSPLIT_STORE_DRIVER=oss`);
  }
  const id = Boolean(e.OSS_ACCESS_KEY_ID);
  const secret = Boolean(e.OSS_ACCESS_KEY_SECRET);
  if (id !== secret) {
    const missing = id ? 'OSS_ACCESS_KEY_SECRET' : 'OSS_ACCESS_KEY_ID';
    problems.push(
      `${missing}: required with ${id ? 'OSS_ACCESS_KEY_ID' : 'OSS_ACCESS_KEY_SECRET'}`,
    );
  }
  if (e.OSS_SECURITY_TOKEN && !(id && secret)) {
    problems.push(
      'OSS_SECURITY_TOKEN: needs OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET (the temporary keys it belongs to)',
    );
  }
  const oidcSet = OIDC_VARS.filter((v) => e[v]);
  if (oidcSet.length > 0 && oidcSet.length < OIDC_VARS.length) {
    for (const v of OIDC_VARS) {
      if (!e[v]) problems.push(`${v}: required with ${oidcSet.join(', ')} (RRSA needs all three)`);
    }
  }
  const anySource =
    (id && secret) ||
    oidcSet.length === OIDC_VARS.length ||
    Boolean(e.ALIBABA_CLOUD_ECS_METADATA) ||
    Boolean(e.ALIBABA_CLOUD_CREDENTIALS_URI);
  if (!anySource && id === secret && oidcSet.length === 0) {
    problems.push(
      'OSS_ACCESS_KEY_ID: no OSS credentials: set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET, or ' +
        'RRSA (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE), ' +
        'or ALIBABA_CLOUD_ECS_METADATA (ECS RAM role), or ALIBABA_CLOUD_CREDENTIALS_URI',
    );
  }
  if (e.OSS_SSE_KMS_KEY_ID && e.OSS_SERVER_SIDE_ENCRYPTION !== 'KMS') {
    problems.push('OSS_SSE_KMS_KEY_ID: only with OSS_SERVER_SIDE_ENCRYPTION=KMS');
  }
  return problems;
}

/**
 * Services that use no object store: they neither read nor validate store settings (and get no
 * store secrets in compose or Kubernetes). Everything else (the uploader, the CLI) does.
 */
const SERVICES_WITHOUT_STORE = new Set(['splitter', 'compressor', 'demo-producer']);

/** Settings only the store users read: the OSS and Alibaba Cloud credential variables. */
export function isStoreSetting(name: string): boolean {
  return (
    /^(OSS_|ALIBABA_CLOUD_)/.test(name) ||
    name.startsWith('LOGSPLIT_STORE_') ||
    name === 'LOGSPLIT_ECS_METADATA_ENDPOINT'
  );
}

/** env as `service` sees it: without store settings unless the service uses a store. */
export function envForService(service: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!SERVICES_WITHOUT_STORE.has(service)) return env;
  return Object.fromEntries(Object.entries(env).filter(([name]) => !isStoreSetting(name)));
}
