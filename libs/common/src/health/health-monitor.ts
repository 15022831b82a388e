import { Logger } from '@nestjs/common';
import { redactSecrets } from '../config/secrets';
import { DependencyProbe, withTimeout } from './dependency-probes';
import { HealthComponent, HealthState } from './health-state';

export interface HealthMonitorOptions {
  intervalMs: number;
  timeoutMs: number;
}

/**
 * Probes each dependency every intervalMs and feeds HealthState. A probe still running when the
 * next is due is not started twice: a hanging dependency keeps its component NOT_SERVING (by the
 * timeout) without piling up requests.
 */
export class HealthMonitor {
  private readonly log = new Logger('Health');
  private timer?: NodeJS.Timeout;
  private readonly running = new Set<HealthComponent>();

  constructor(
    private readonly state: HealthState,
    private readonly probes: Partial<Record<HealthComponent, DependencyProbe>>,
    private readonly opts: HealthMonitorOptions,
  ) {}

  start(): void {
    void this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round of probes; resolves when every probe started in it has settled. */
  async probeAll(): Promise<void> {
    const was = this.state.serving;
    await Promise.all(
      Object.entries(this.probes).map(async ([name, probe]) => {
        const component = name as HealthComponent;
        if (this.running.has(component) || !probe) return;
        this.running.add(component);
        try {
          await withTimeout(probe(), this.opts.timeoutMs, component);
          this.state.set(component, true);
        } catch (err) {
          const reason = reasonOf(err);
          if (reason !== this.state.reason(component)) {
            this.log.warn(`${component} NOT_SERVING: ${reason}`);
          }
          this.state.set(component, false, reason);
          this.log.debug(`${component} probe failed: ${String(err)}`);
        } finally {
          this.running.delete(component);
        }
      }),
    );
    if (was !== this.state.serving) {
      const down = this.state.down;
      const why = (c: HealthComponent) =>
        this.state.reason(c) ? `${c}: ${this.state.reason(c)}` : c;
      this.log.log(
        this.state.serving
          ? 'SERVING'
          : `NOT_SERVING (down: ${down.map(why).join('; ') || 'none'})`,
      );
    }
  }
}

/**
 * Why a probe failed: the error's `reason` when it has one (a short, stable text naming the
 * setting to fix, e.g. 'OSS_ACCESS_KEY_SECRET rejected by OSS (SignatureDoesNotMatch)'), else
 * its message's first line, bounded.
 */
function reasonOf(err: unknown): string {
  const reason = (err as { reason?: unknown } | undefined)?.reason;
  // Reasons may quote what a server answered: known secret values are masked.
  if (typeof reason === 'string' && reason !== '') return redactSecrets(reason);
  const message = err instanceof Error ? err.message : String(err);
  const line = redactSecrets(message.split('\n', 1)[0] ?? '');
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
