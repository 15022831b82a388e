import type { ServingStatus } from './health-proto';
import { HealthStatuses } from './health-service';

/** A dependency whose reachability decides whether the service can do its job. */
export type HealthComponent = 'kafka' | 'redis' | 'store';

/**
 * The statuses grpc.health.v1 reports: one per component (service name "kafka", "redis",
 * "store") and the overall one (service name ""), SERVING only when every component is SERVING
 * and the service is not shutting down. Starts NOT_SERVING until the first probes succeed.
 */
export class HealthState {
  readonly implementation: HealthStatuses;
  private readonly up = new Map<HealthComponent, boolean>();
  private readonly reported = new Map<string, ServingStatus>();
  private readonly reasons = new Map<HealthComponent, string>();
  private shuttingDown = false;

  constructor(readonly components: readonly HealthComponent[]) {
    const initial: Record<string, ServingStatus> = { '': 'NOT_SERVING' };
    for (const c of components) {
      initial[c] = 'NOT_SERVING';
      this.up.set(c, false);
    }
    this.implementation = new HealthStatuses(initial);
    for (const [name, status] of Object.entries(initial)) this.reported.set(name, status);
  }

  /** `reason`: why a component is down, naming the setting to fix when there is one. */
  set(component: HealthComponent, up: boolean, reason?: string): void {
    if (!this.up.has(component) || this.shuttingDown) return;
    this.up.set(component, up);
    if (up) this.reasons.delete(component);
    else if (reason !== undefined) this.reasons.set(component, reason);
    this.report(component, up ? 'SERVING' : 'NOT_SERVING');
    this.updateOverall();
  }

  /** From the first moment of shutdown on, everything reports NOT_SERVING. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const c of this.components) this.report(c, 'NOT_SERVING');
    this.updateOverall();
  }

  /** Components whose last probe failed. */
  get down(): HealthComponent[] {
    return [...this.up].filter(([, up]) => !up).map(([c]) => c);
  }

  /** Why a component is down ('' when up or when no reason is known). */
  reason(component: HealthComponent): string {
    return this.reasons.get(component) ?? '';
  }

  get serving(): boolean {
    return !this.shuttingDown && [...this.up.values()].every(Boolean);
  }

  private updateOverall(): void {
    this.report('', this.serving ? 'SERVING' : 'NOT_SERVING');
  }

  /** Watch streams every setStatus call: only changes are passed on. */
  private report(name: string, status: ServingStatus): void {
    if (this.reported.get(name) === status) return;
    this.reported.set(name, status);
    this.implementation.setStatus(name, status);
  }
}
