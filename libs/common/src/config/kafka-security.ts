import { accessSync, constants, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './config-error';
import { rememberSecrets, resolveSecretFiles } from './secrets';

// Kafka client security settings, named after Kafka's own client properties
// (security.protocol, ssl.truststore/keystore, sasl.mechanism...) so users recognise them.

export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export const KAFKA_SASL_MECHANISMS = [
  'PLAIN',
  'SCRAM-SHA-256',
  'SCRAM-SHA-512',
  'OAUTHBEARER',
] as const;

export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** Secret settings of this section, for SECRET_SETTINGS. */
export const KAFKA_SECRET_SETTINGS = ['KAFKA_SASL_PASSWORD', 'KAFKA_SSL_KEY_PASSWORD'] as const;

/** Spread into envSchema. */
export const kafkaSecuritySchema = {
  KAFKA_SECURITY_PROTOCOL: z.enum(KAFKA_SECURITY_PROTOCOLS).default('PLAINTEXT'),
  /** PEM bundle of the CA(s) that signed the brokers' certificates; unset = Node's public CAs. */
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  /** PEM client certificate (chain) and its key, for brokers with ssl.client.auth=required. */
  KAFKA_SSL_CERT_FILE: z.string().min(1).optional(),
  KAFKA_SSL_KEY_FILE: z.string().min(1).optional(),
  KAFKA_SSL_KEY_PASSWORD: z.string().min(1).optional(),
  /** Kafka's ssl.endpoint.identification.algorithm: https checks the broker's name; none does not. */
  KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM: z.enum(['https', 'none']).default('https'),
  KAFKA_SASL_MECHANISM: z.enum(KAFKA_SASL_MECHANISMS).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /** A file holding the OAUTHBEARER token (a JWT), rewritten by whatever refreshes it. */
  KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: z.string().min(1).optional(),
};

type KafkaSecurityEnv = z.infer<z.ZodObject<typeof kafkaSecuritySchema>>;

export interface KafkaSslConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  keyPassword?: string;
  /** Off only by KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM=none. */
  checkHostname: boolean;
}

export interface KafkaSaslConfig {
  mechanism: KafkaSaslMechanism;
  username?: string;
  password?: string;
  tokenFile?: string;
}

export interface KafkaSecurityConfig {
  protocol: KafkaSecurityProtocol;
  ssl?: KafkaSslConfig;
  sasl?: KafkaSaslConfig;
}

export function kafkaSecurityFromEnv(e: KafkaSecurityEnv): KafkaSecurityConfig {
  const protocol = e.KAFKA_SECURITY_PROTOCOL;
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const sasl = protocol.startsWith('SASL_');
  const out: KafkaSecurityConfig = { protocol };
  if (tls) {
    out.ssl = {
      caFile: e.KAFKA_SSL_CA_FILE,
      certFile: e.KAFKA_SSL_CERT_FILE,
      keyFile: e.KAFKA_SSL_KEY_FILE,
      keyPassword: e.KAFKA_SSL_KEY_PASSWORD,
      checkHostname: e.KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM === 'https',
    };
  }
  if (sasl && e.KAFKA_SASL_MECHANISM) {
    out.sasl = {
      mechanism: e.KAFKA_SASL_MECHANISM,
      username: e.KAFKA_SASL_USERNAME,
      password: e.KAFKA_SASL_PASSWORD,
      tokenFile: e.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE,
    };
  }
  return out;
}

/** Settings that contradict each other or name unreadable files, each naming the variable. */
export function kafkaSecurityProblems(e: KafkaSecurityEnv): string[] {
  const problems: string[] = [];
  const protocol = e.KAFKA_SECURITY_PROTOCOL;
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const sasl = protocol.startsWith('SASL_');
  const tlsOnly = [
    'KAFKA_SSL_CA_FILE',
    'KAFKA_SSL_CERT_FILE',
    'KAFKA_SSL_KEY_FILE',
    'KAFKA_SSL_KEY_PASSWORD',
  ] as const;
  if (!tls) {
    for (const name of tlsOnly) {
      if (e[name]) problems.push(`${name}: only used with KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL`);
    }
  } else {
    pemProblem(problems, 'KAFKA_SSL_CA_FILE', e.KAFKA_SSL_CA_FILE, 'CERTIFICATE');
    pemProblem(problems, 'KAFKA_SSL_CERT_FILE', e.KAFKA_SSL_CERT_FILE, 'CERTIFICATE');
    pemProblem(problems, 'KAFKA_SSL_KEY_FILE', e.KAFKA_SSL_KEY_FILE, 'PRIVATE KEY');
    if (e.KAFKA_SSL_CERT_FILE && !e.KAFKA_SSL_KEY_FILE) {
      problems.push('KAFKA_SSL_KEY_FILE: required with KAFKA_SSL_CERT_FILE (the client key)');
    }
    if (e.KAFKA_SSL_KEY_FILE && !e.KAFKA_SSL_CERT_FILE) {
      problems.push(
        'KAFKA_SSL_CERT_FILE: required with KAFKA_SSL_KEY_FILE (the client certificate)',
      );
    }
    if (e.KAFKA_SSL_KEY_PASSWORD && !e.KAFKA_SSL_KEY_FILE) {
      problems.push('KAFKA_SSL_KEY_PASSWORD: only used with KAFKA_SSL_KEY_FILE');
    }
  }
  const saslNames = [
    'KAFKA_SASL_MECHANISM',
    'KAFKA_SASL_USERNAME',
    'KAFKA_SASL_PASSWORD',
    'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
  ] as const;
  if (!sasl) {
    for (const name of saslNames) {
      if (e[name]) {
        problems.push(`${name}: only used with KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT or SASL_SSL`);
      }
    }
    return problems;
  }
  const mechanism = e.KAFKA_SASL_MECHANISM;
  if (!mechanism) {
    problems.push(`KAFKA_SASL_MECHANISM: required with KAFKA_SECURITY_PROTOCOL=${protocol}`);
  } else if (mechanism === 'OAUTHBEARER') {
    if (!e.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE) {
      problems.push(
        'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: required with KAFKA_SASL_MECHANISM=OAUTHBEARER',
      );
    } else if (!readable(e.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE)) {
      problems.push(
        `KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: cannot read ${JSON.stringify(e.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE)}`,
      );
    }
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (e[name]) problems.push(`${name}: not used with KAFKA_SASL_MECHANISM=OAUTHBEARER`);
    }
  } else {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (!e[name]) problems.push(`${name}: required with KAFKA_SASL_MECHANISM=${mechanism}`);
    }
    if (e.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE) {
      problems.push(
        'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: only used with KAFKA_SASL_MECHANISM=OAUTHBEARER',
      );
    }
  }
  return problems;
}

function readable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** The file is readable and holds a PEM block of the kind (e.g. CERTIFICATE, any PRIVATE KEY). */
function pemProblem(
  problems: string[],
  name: string,
  file: string | undefined,
  kind: string,
): void {
  if (!file) return;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    problems.push(`${name}: cannot read ${JSON.stringify(file)} (${code})`);
    return;
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(text)) {
    problems.push(`${name}: ${JSON.stringify(file)} holds no PEM ${kind}`);
  }
}

/**
 * The Kafka security settings alone, from an environment (secret `_FILE`s resolved): for the
 * clients tests, bench and tools make outside a service, so they reach a secured broker too.
 */
export function loadKafkaSecurity(
  processEnv: NodeJS.ProcessEnv = process.env,
): KafkaSecurityConfig {
  const { env, problems } = resolveSecretFiles(processEnv);
  rememberSecrets(env);
  const parsed = z.object(kafkaSecuritySchema).safeParse(env);
  if (!parsed.success) {
    throw new ConfigError([
      ...problems,
      ...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    ]);
  }
  problems.push(...kafkaSecurityProblems(parsed.data));
  if (problems.length > 0) throw new ConfigError(problems);
  return kafkaSecurityFromEnv(parsed.data);
}

/** The Kafka security variables of `env` (with their `_FILE` forms), to hand on to a child. */
export function pickKafkaSecurityEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const names = Object.keys(kafkaSecuritySchema).flatMap((n) => [n, `${n}_FILE`]);
  return Object.fromEntries(
    names.filter((n) => env[n] !== undefined && env[n] !== '').map((n) => [n, env[n]!]),
  );
}
