import type { KafkajsPatch } from './kafkajs-patch';
import { KAFKAJS_VERSION } from './kafkajs-shape';
import { requireCacheRegistry, type ModuleRegistry } from './module-registry';
import { KafkajsPatchError } from './patch-error';
import { isPatchLive, markPatchLive } from './patch-status';
import { produceEncoderPatch } from './produce-encoder.patch';
import { readCommittedPatch } from './read-committed';

/** Every patch, each needed by every process that runs kafkajs (services, CLI, bench, chaos). */
export const KAFKAJS_PATCHES: readonly KafkajsPatch[] = [readCommittedPatch, produceEncoderPatch];

/**
 * Applies the patches (default: all) not yet live, or throws a KafkajsPatchError saying why it cannot: kafkajs
 * is not the release they were written against, its modules have loaded already (they would
 * keep the originals), or an internal module changed shape. Nothing is half-applied silently.
 */
export function installKafkajsPatches(
  registry: ModuleRegistry = requireCacheRegistry,
  patches: readonly KafkajsPatch[] = KAFKAJS_PATCHES,
): void {
  const version = kafkajsVersion(registry);
  if (version !== KAFKAJS_VERSION) {
    throw new KafkajsPatchError(
      `kafkajs ${version} is installed; its patches (libs/kafkajs-patches) were written for ` +
        `${KAFKAJS_VERSION}: check them against the new release and update KAFKAJS_VERSION`,
    );
  }
  for (const patch of patches) {
    if (isPatchLive(patch.name)) continue;
    const early = patch.users.filter((id) => registry.loaded(id));
    if (early.length > 0) {
      throw new KafkajsPatchError(
        `kafkajs was loaded before its ${patch.name} patch (${early.join(', ')}): ` +
          'make @logsplit/kafkajs-patches/install the first import of main.ts, before anything loads kafkajs',
      );
    }
    const replacements = patch.replacements((id) => registry.original(id));
    for (const [id, exports] of Object.entries(replacements)) registry.replace(id, exports);
    markPatchLive(patch.name);
  }
}

function kafkajsVersion(registry: ModuleRegistry): string {
  return String((registry.original('kafkajs/package.json') as { version?: unknown }).version);
}
