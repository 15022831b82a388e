/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs internals, loaded to be replaced */

export interface KafkajsModuleSwap {
  /** Named in the warning, e.g. "read_committed fix". */
  what: string;
  /** What running without it means, for the warning. */
  consequence: string;
  /** kafkajs modules that take references to the replaced ones when they load. */
  users: readonly string[];
  /** kafkajs module id → its new exports, made from its original ones. */
  replacements: Record<string, (original: unknown) => unknown>;
}

/**
 * Puts new exports in place of kafkajs internal modules through the require cache (kafkajs 2.2.4
 * is pinned). Works only before the modules that use them have loaded: otherwise it warns on
 * stderr and changes nothing. Under a module system of its own (jest) there is no cache entry to
 * replace. True when replaced.
 */
export function swapKafkajsModules(swap: KafkajsModuleSwap): boolean {
  if (swap.users.some((id) => require.cache[require.resolve(id)])) {
    process.stderr.write(
      `logsplit: kafkajs was loaded before the ${swap.what} could be installed; ${swap.consequence}\n`,
    );
    return false;
  }
  const entries = Object.entries(swap.replacements).map(([id, replace]) => {
    const path = require.resolve(id);
    require(path);
    return { entry: require.cache[path], replace };
  });
  if (entries.some(({ entry }) => !entry)) return false;
  for (const { entry, replace } of entries) entry!.exports = replace(entry!.exports);
  return true;
}
