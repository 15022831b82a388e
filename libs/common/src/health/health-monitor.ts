import { Logger } from '@nestjs/common';
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
  /** The last reason logged per component: a lasting failure is logged once, not every round. */
  private readonly logged = new Map<HealthComponent, string>();

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
          if (this.logged.delete(component)) this.log.log(`${component} SERVING again`);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          this.state.set(component, false, reason);
          if (this.logged.get(component) !== reason) {
            this.logged.set(component, reason);
            this.log.warn(`${component} NOT_SERVING: ${reason}`);
          }
        } finally {
          this.running.delete(component);
        }
      }),
    );
    if (was !== this.state.serving) {
      const down = this.state.down;
      this.log.log(
        this.state.serving
          ? 'SERVING'
          : `NOT_SERVING (down: ${down.map((c) => this.describe(c)).join(', ') || 'none'})`,
      );
    }
  }

  private describe(component: HealthComponent): string {
    const reason = this.state.reason(component);
    return reason ? `${component}: ${reason}` : component;
  }
}
