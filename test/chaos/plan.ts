import { mulberry32 } from '@logsplit/common/util';
import { SERVICES } from './fleet';
import { ServiceName } from '../support/services';

export type ChaosEvent =
  | { atMs: number; kind: 'kill'; service: ServiceName; pick: number; restartDelayMs: number }
  | { atMs: number; kind: 'kafka'; kill: boolean; downMs: number }
  | { atMs: number; kind: 'redis'; downMs: number };

export interface PlanOptions {
  seed: number;
  kills: number;
  /** Chaos happens in [startMs, endMs) after the producer starts. */
  startMs: number;
  endMs: number;
  kafkaKill: boolean;
}

/**
 * When and what to break, drawn from the seed so a failing run can be replayed with the same
 * plan (the pipeline's own timing still varies). Kills fall at random moments over the whole
 * window; the broker restart lands in its first half and the Redis restart in its second, so
 * the two outages never overlap and both happen while records flow.
 */
export function chaosPlan(o: PlanOptions): ChaosEvent[] {
  const rand = mulberry32(o.seed ^ 0x5eed);
  const span = o.endMs - o.startMs;
  const at = (from: number, to: number) =>
    Math.round(o.startMs + span * (from + rand() * (to - from)));
  const events: ChaosEvent[] = [];
  for (let k = 0; k < o.kills; k++) {
    events.push({
      atMs: at(0, 1),
      kind: 'kill',
      service: SERVICES[Math.floor(rand() * SERVICES.length)],
      pick: rand(),
      restartDelayMs: Math.round(rand() * 3000),
    });
  }
  events.push({ atMs: at(0.2, 0.4), kind: 'kafka', kill: o.kafkaKill, downMs: 2000 });
  events.push({ atMs: at(0.6, 0.8), kind: 'redis', downMs: 3000 });
  return events.sort((a, b) => a.atMs - b.atMs);
}
