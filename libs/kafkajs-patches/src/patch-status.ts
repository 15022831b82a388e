import type { KafkajsPatchName } from './kafkajs-patch';

const live = new Set<KafkajsPatchName>();

/** Recorded by install once every module of the patch is replaced. */
export function markPatchLive(name: KafkajsPatchName): void {
  live.add(name);
}

/** Whether the patch is in place in this process (its log line and gauge, and runService's check). */
export function isPatchLive(name: KafkajsPatchName): boolean {
  return live.has(name);
}
