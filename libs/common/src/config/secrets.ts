import { readFileSync } from 'node:fs';

/**
 * Settings whose values are secrets. Each may also be given as `<NAME>_FILE`, a path whose content
 * is the value (the Docker and Kubernetes secrets convention), and none is ever printed: config
 * errors name the setting only, and log lines have known secret values replaced.
 */
export const SECRET_SETTINGS: readonly string[] = [
  'OSS_ACCESS_KEY_SECRET',
  'OSS_SECURITY_TOKEN',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_SSL_KEY_PASSWORD',
  'REDIS_PASSWORD',
  'REDIS_SENTINEL_PASSWORD',
];

/** What replaces a secret value in anything printed. */
export const REDACTED = '[redacted]';

/** Shorter values are not searched for in log lines: they would mask ordinary text. */
const MIN_REDACTED_LENGTH = 4;

const knownSecrets = new Set<string>();

export function isSecretSetting(name: string): boolean {
  return SECRET_SETTINGS.includes(name) || SECRET_SETTINGS.some((s) => name === `${s}_FILE`);
}

/**
 * Reads every `<NAME>_FILE` of a secret setting into NAME. Returns the environment to validate and
 * the problems found, each naming the variable (and the path, never the content).
 */
export function resolveSecretFiles(env: NodeJS.ProcessEnv): {
  env: NodeJS.ProcessEnv;
  problems: string[];
} {
  const out: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_SETTINGS) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name}_FILE: ${name} is set too; set one of them`);
      continue;
    }
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      problems.push(`${name}_FILE: cannot read ${JSON.stringify(file)} (${code})`);
      continue;
    }
    // Files written by `echo` or editors end with a newline that is not part of the secret.
    const value = content.replace(/\r?\n$/, '');
    if (value === '') {
      problems.push(`${name}_FILE: ${JSON.stringify(file)} is empty`);
      continue;
    }
    out[name] = value;
  }
  return { env: out, problems };
}

/** Remembers the secret values of `env` so that redactSecrets can mask them. */
export function rememberSecrets(env: NodeJS.ProcessEnv): void {
  for (const name of SECRET_SETTINGS) rememberSecret(env[name]);
}

/** Remembers one secret value obtained at run time (a refreshed token, a temporary key). */
export function rememberSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= MIN_REDACTED_LENGTH) knownSecrets.add(value);
}

/** `text` with every remembered secret value replaced by REDACTED. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** For tests: forget every remembered value. */
export function forgetSecrets(): void {
  knownSecrets.clear();
}
