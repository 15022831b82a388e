import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './infra';

const run = promisify(execFile);

/** A private broker with a secured client listener (scripts/kafka start --security). */
export interface SecuredKafka {
  dir: string;
  /** What a client sets: KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_*, KAFKA_SASL_*. */
  env: Record<string, string>;
  /** Creates the SCRAM-SHA-512 user or changes its password on the running broker. */
  setUser(name: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

const KAFKA = join(ROOT, 'scripts', 'kafka');

/**
 * Starts it in a new temp dir: a CA and certificates made for this run, user `logsplit` unless
 * `args` has --user options (the first is the one `env` logs in as); more scripts/kafka options,
 * e.g. --authorizer, in `args`.
 */
export async function startSecuredKafka(
  security: 'sasl_ssl' | 'ssl',
  args: string[] = [],
): Promise<SecuredKafka> {
  const dir = mkdtempSync(join(tmpdir(), `logsplit-kafka-${security}-`));
  const { stdout } = await run(KAFKA, ['start', '--dir', dir, '--security', security, ...args], {
    cwd: ROOT,
  });
  const env = Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => /^KAFKA_[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return {
    dir,
    env,
    setUser: async (name, password) =>
      void (await run(KAFKA, ['user', '--dir', dir, '--user', `${name}:${password}`], {
        cwd: ROOT,
      })),
    stop: async () => void (await run(KAFKA, ['stop', '--dir', dir, '--clean'], { cwd: ROOT })),
  };
}
