import { Logger } from '@nestjs/common';
import type { Span } from '@opentelemetry/api';
import { Metrics } from '../telemetry/metrics';

/** The log lines an event may write (Nest's Logger fits; tests pass a recorder). */
export interface EventLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Where an event lands: the service's metrics, its log, and the spans it happened in. */
export interface EventTargets {
  metrics: Metrics;
  log: EventLog;
  /** The innermost span first; an event may set attributes on its enclosing spans too. */
  spans: readonly Span[];
}

/**
 * Something observable that happened in a stage. The event type alone decides which metrics it
 * counts, which line it logs and which span attributes it sets (Vector's internal events: a
 * handler says `emit(new X({..}))` in one line and stays free of logging and counting code). So
 * a metric name or label lives in exactly one place, next to the other effects of its event.
 */
export interface StageEvent {
  emit(to: EventTargets): void;
}

/** Emits stage events of one service; one instance per process (CommonModule provides it). */
export class StageEvents {
  readonly log: EventLog;

  constructor(
    readonly metrics: Metrics,
    log: EventLog | string = 'logsplit',
  ) {
    this.log = typeof log === 'string' ? new Logger(log) : log;
  }

  /** `spans`: the spans the event happened in, for the attributes the event sets on them. */
  emit(event: StageEvent, ...spans: Span[]): void {
    event.emit({ metrics: this.metrics, log: this.log, spans });
  }
}
