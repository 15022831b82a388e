import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { PeakMemory } from '../support/proc-memory';
import { RunningService, ServiceName, startService } from '../support/services';

export const SERVICES: readonly ServiceName[] = ['splitter', 'compressor', 'uploader'];

/** An exit the run did not cause: a crash point that fired, or a service that gave up. */
export interface UnplannedExit {
  instance: string;
  service: ServiceName;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The crash point the instance reported before it died, if any. */
  crashPoint?: string;
  logFile: string;
}

export interface FleetOptions {
  env: Record<string, string>;
  dist?: string;
  logDir?: string;
  memory: PeakMemory;
  /** One line per happening, for the run's timeline. */
  say: (line: string) => void;
  onSpawn?: (proc: ChildProcess) => void;
  /** Extra environment for a replacement, e.g. LOGSPLIT_CRASH_AT to die at a chosen moment. */
  armReplacement?: (service: ServiceName) => Record<string, string>;
}

interface Instance {
  svc: RunningService;
  service: ServiceName;
  /** Set before the run itself kills or stops it, so its exit is not taken for a crash. */
  expected: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The service processes of a chaos run: N instances of each service, killed on request and
 * restarted, with every exit the run did not cause recorded and the instance replaced, so the
 * pipeline keeps its size whatever happens.
 */
export class Fleet {
  readonly kills = new Map<ServiceName, number>(SERVICES.map((s) => [s, 0]));
  readonly unplannedExits: UnplannedExit[] = [];
  /** Every instance that ran, with its log file: where to look when the audit finds something. */
  readonly logs: { instance: string; service: ServiceName; logFile: string }[] = [];
  private readonly live: Instance[] = [];
  private readonly restarts = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly o: FleetOptions) {}

  async start(service: ServiceName, extraEnv: Record<string, string> = {}): Promise<void> {
    let proc: ChildProcess | undefined;
    const onSpawn = (p: ChildProcess) => {
      proc = p;
      this.o.onSpawn?.(p);
    };
    let svc: RunningService;
    try {
      svc = await startService(
        service,
        { ...this.o.env, ...extraEnv },
        { dist: this.o.dist, logDir: this.o.logDir, onSpawn, startTimeoutMs: 120_000 },
      );
    } catch (err) {
      // A start that timed out may still come up later: it must not run untracked.
      proc?.kill('SIGKILL');
      throw err;
    }
    const inst: Instance = { svc, service, expected: false };
    this.live.push(inst);
    this.logs.push({ instance: svc.id, service, logFile: svc.logFile });
    this.o.memory.sample(service, svc.id, svc.proc.pid);
    void svc.exited.then((code) => this.onExit(inst, code));
  }

  liveInstances(service?: ServiceName): string[] {
    return this.live.filter((i) => !service || i.service === service).map((i) => i.svc.id);
  }

  /**
   * SIGKILLs one live instance of `service` (index picks which) and starts a replacement after
   * `restartDelayMs`, in the background; false when the service has no live instance.
   */
  async kill(service: ServiceName, pick: number, restartDelayMs: number): Promise<string | false> {
    const candidates = this.live.filter((i) => i.service === service && !i.expected);
    if (candidates.length === 0) return false;
    const victim = candidates[Math.floor(pick * candidates.length) % candidates.length];
    victim.expected = true;
    this.o.memory.sample(service, victim.svc.id, victim.svc.proc.pid);
    await victim.svc.stop('SIGKILL');
    this.kills.set(service, (this.kills.get(service) ?? 0) + 1);
    this.replace(service, restartDelayMs, `after killing ${victim.svc.id}`);
    return victim.svc.id;
  }

  sampleMemory(): void {
    for (const i of this.live) this.o.memory.sample(i.service, i.svc.id, i.svc.proc.pid);
  }

  /** Waits for replacements in flight (a kill just before the end must not leave a gap). */
  async settle(): Promise<void> {
    while (this.restarts.size > 0) await Promise.allSettled([...this.restarts]);
  }

  /** SIGTERM to every instance (the graceful path), after a last memory sample. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.restarts]);
    this.sampleMemory();
    const all = [...this.live];
    for (const i of all) i.expected = true;
    await Promise.allSettled(all.map((i) => i.svc.stop('SIGTERM')));
  }

  private async onExit(inst: Instance, code: number | null): Promise<void> {
    const at = this.live.indexOf(inst);
    if (at >= 0) this.live.splice(at, 1);
    if (inst.expected || this.stopping) return;
    await inst.svc.stop(); // already gone: flushes and closes its log

    const exit: UnplannedExit = {
      instance: inst.svc.id,
      service: inst.service,
      code,
      signal: inst.svc.proc.signalCode,
      crashPoint: crashPointOf(inst.svc.logFile),
      logFile: inst.svc.logFile,
    };
    this.unplannedExits.push(exit);
    this.o.say(
      `${exit.instance} exited by itself (${exit.crashPoint ? `crash point ${exit.crashPoint}` : `code ${code}, signal ${exit.signal}`})`,
    );
    this.replace(inst.service, 500, `after ${exit.instance} exited`);
  }

  /**
   * Starts an instance, retrying while it cannot start (the broker or Redis is down, or the
   * machine is so loaded that a start times out); throws after `attempts` failures.
   */
  async launch(service: ServiceName, why: string, attempts = Infinity): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        const armed = why === 'initial' ? {} : (this.o.armReplacement?.(service) ?? {});
        await this.start(service, armed);
        const note = armed.LOGSPLIT_CRASH_AT ? `, armed ${armed.LOGSPLIT_CRASH_AT}` : '';
        if (why !== 'initial') {
          this.o.say(`${service} restarted ${why} (${this.liveInstances(service).at(-1)}${note})`);
        }
        return;
      } catch (err) {
        const fired = /crash point (\S+) reached/.exec(String(err))?.[1];
        const logFile = /see (\S+\.log)/.exec(String(err))?.[1];
        if (fired && logFile) {
          const instance = basename(logFile, '.log');
          this.unplannedExits.push({
            instance,
            service,
            code: null,
            signal: 'SIGKILL',
            crashPoint: fired,
            logFile,
          });
        }
        const reason = fired ? `crash point ${fired} fired while starting` : firstLine(err);
        this.o.say(`${service} start attempt ${attempt} (${why}) failed: ${reason}`);
        if (attempt >= attempts) throw err;
        await sleep(Math.min(10_000, 1000 * attempt));
      }
    }
  }

  /** Starts a replacement in the background (settle() waits for it). */
  private replace(service: ServiceName, delayMs: number, why: string): void {
    const job = sleep(delayMs).then(() => this.launch(service, why));
    this.restarts.add(job);
    void job.finally(() => this.restarts.delete(job));
  }
}

function crashPointOf(logFile: string): string | undefined {
  try {
    return /crash point (\S+) reached/.exec(readFileSync(logFile, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
