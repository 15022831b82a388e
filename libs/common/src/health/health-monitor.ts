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
          // Probes throw errors whose message is the reason (e.g. naming the setting to fix).
          const reason = redactSecrets(err instanceof Error ? err.message : String(err));
          if (this.state.reasons[component] !== reason) {
            this.log.warn(`${component} NOT_SERVING: ${reason}`);
          }
          this.state.set(component, false, reason);
        } finally {
          this.running.delete(component);
        }
      }),
    );
    if (was !== this.state.serving) {
      const down = this.state.down;
      this.log.log(
        this.state.serving ? 'SERVING' : `NOT_SERVING (down: ${down.join(', ') || 'none'})`,
      );
    }
  }
}
