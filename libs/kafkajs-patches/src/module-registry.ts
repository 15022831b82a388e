/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs internals, loaded to be replaced */
import { KafkajsPatchError } from './patch-error';

/**
 * Where a patch puts new exports in place of kafkajs internal modules: node's require cache in
 * the services, the CLI and the bench; jest's module registry in tests (test/support).
 */
export interface ModuleRegistry {
  /** Whether the module has loaded already (modules that loaded it then hold the original). */
  loaded(id: string): boolean;
  /** The module's own exports. */
  original(id: string): unknown;
  /** Makes every later require of `id` return `exports`. */
  replace(id: string, exports: unknown): void;
}

/**
 * node's require cache (kafkajs 2.2.4 is pinned): a module's cache entry gets new exports before
 * the kafkajs modules that require it have loaded.
 */
export const requireCacheRegistry: ModuleRegistry = {
  loaded: (id) => require.cache[require.resolve(id)] !== undefined,
  original: (id) => require(id) as unknown,
  replace: (id, exports) => {
    const path = require.resolve(id);
    require(path);
    const entry = require.cache[path];
    if (!entry) {
      // A module system of its own (jest) keeps no entry here: tests install through theirs.
      throw new KafkajsPatchError(`${id} has no require cache entry to replace`);
    }
    entry.exports = exports;
  },
};
