import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type ServiceName = 'splitter' | 'compressor' | 'uploader';

const ROOT = resolve(__dirname, '../..');
export const LOG_DIR = join(ROOT, '.cache', 'test-logs');
/** Build output the services run from; LOGSPLIT_DIST_DIR lets parallel checkouts' builds coexist. */
export const DIST = resolve(ROOT, process.env.LOGSPLIT_DIST_DIR ?? 'dist');

export interface RunningService {
  name: ServiceName;
  /** The instance id the service was started with (LOGSPLIT_INSTANCE_ID). */
  id: string;
  proc: ChildProcess;
  /** Milliseconds from spawn to the service's "started" line. */
  readyMs: number;
  logFile: string;
  /** gRPC health port, from the service's "health listening on host:port" line. */
  healthPort: number;
  /** Prometheus port, from its "metrics listening on http://host:port/metrics" line. */
  metricsPort: number;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

let counter = 0;
/**
 * Jest loads this module afresh for each test file of a run (same pid), so the counter restarts:
 * the module's load time keeps one file's instance ids and log files apart from the next's.
 */
const loadedAt = Date.now().toString(36);

/**
 * Starts a built service (dist/) as its own process with the given environment, the way the
 * local stack and containers run it, and waits until it logs that it started.
 */
export interface StartOptions {
  startTimeoutMs?: number;
  /** Build output to run (default DIST). */
  dist?: string;
  /** Where the service's log file goes (default LOG_DIR); also its working directory. */
  logDir?: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  /** Told of the process as soon as it exists, so a caller can stop it on Ctrl-C. */
  onSpawn?: (proc: ChildProcess) => void;
  /** Wait only until its health server listens, not until it started (e.g. Kafka is refused). */
  untilHealth?: boolean;
}

export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  opts: StartOptions = {},
): Promise<RunningService> {
  const logDir = opts.logDir ?? LOG_DIR;
  mkdirSync(logDir, { recursive: true });
  const id = `${name}-${process.pid}-${loadedAt}-${++counter}`;
  const logFile = join(logDir, `${id}.log`);
  const log = createWriteStream(logFile);
  const t0 = performance.now();
  // kafkajs 2.2.4 sets negative timers on Node 24 (kafkajs issue 1751): silence that warning.
  const main = join(opts.dist ?? DIST, 'apps', name, 'src/main.js');
  const args = ['--disable-warning=TimeoutNegativeWarning', ...(opts.nodeFlags ?? []), main];
  const proc = spawn(process.execPath, args, {
    cwd: opts.logDir,
    // Free ports by default, so several instances and parallel runs never collide.
    env: {
      ...process.env,
      LOGSPLIT_INSTANCE_ID: id,
      LOGSPLIT_HEALTH_PORT: process.env.LOGSPLIT_HEALTH_PORT ?? '0',
      LOGSPLIT_METRICS_PORT: process.env.LOGSPLIT_METRICS_PORT ?? '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  opts.onSpawn?.(proc);
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  let seen = '';
  const started = new Promise<void>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`${name} did not start in time; see ${logFile}`)),
      opts.startTimeoutMs ?? 60_000,
    );
    const onData = (b: Buffer) => {
      log.write(b);
      if (seen.length < 1e6) seen += b.toString();
      const ready = opts.untilHealth
        ? /metrics listening on/.test(seen)
        : seen.includes(`${name} ${id} started`);
      if (ready) {
        clearTimeout(timer);
        res();
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(
        new Error(
          `${name} exited with ${code} before it started; see ${logFile}:\n${seen.slice(-2000)}`,
        ),
      );
    });
  });
  await started;
  const readyMs = performance.now() - t0;
  const healthPort = /health listening on [^\s"]*:(\d+)/.exec(seen)?.[1];
  const metricsPort = /metrics listening on http:\/\/[^\s"]*:(\d+)\/metrics/.exec(seen)?.[1];
  return {
    name,
    id,
    proc,
    readyMs,
    logFile,
    healthPort: Number(healthPort),
    metricsPort: Number(metricsPort),
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timeout = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timeout);
      log.end();
      return code;
    },
  };
}
