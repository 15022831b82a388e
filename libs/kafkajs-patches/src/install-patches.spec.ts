/* eslint-disable @typescript-eslint/no-require-imports -- a fresh patch state per test */
import type { ModuleRegistry } from './module-registry';

/** The installer and its patch state, as a process that has installed nothing yet sees them. */
function fresh() {
  let m!: typeof import('./install-patches') &
    typeof import('./patch-status') &
    typeof import('./read-committed');
  jest.isolateModules(() => {
    m = {
      ...require('./install-patches'),
      ...require('./patch-status'),
      ...require('./read-committed'),
    };
  });
  return m;
}

/** jest's view of the real kafkajs, recording what would be replaced. */
function registry(over: Partial<ModuleRegistry> = {}) {
  const replaced = new Map<string, unknown>();
  const r: ModuleRegistry = {
    loaded: () => false,
    original: (id) => jest.requireActual<object>(id),
    replace: (id, exports) => void replaced.set(id, exports),
    ...over,
  };
  return { r, replaced };
}

describe('installKafkajsPatches', () => {
  it('refuses a kafkajs release the patches were not written for', () => {
    const { installKafkajsPatches } = fresh();
    const { r, replaced } = registry({
      original: (id) =>
        id === 'kafkajs/package.json' ? { version: '2.3.0' } : jest.requireActual<object>(id),
    });
    expect(() => installKafkajsPatches(r)).toThrow(/kafkajs 2\.3\.0 is installed/);
    expect(replaced.size).toBe(0);
  });

  it('refuses when kafkajs has loaded a module that holds the originals', () => {
    const { installKafkajsPatches, isPatchLive } = fresh();
    const { r } = registry({ loaded: (id) => id === 'kafkajs/src/consumer/batch' });
    expect(() => installKafkajsPatches(r)).toThrow(
      /kafkajs was loaded before its read-committed patch \(kafkajs\/src\/consumer\/batch\)/,
    );
    expect(isPatchLive('read-committed')).toBe(false);
  });

  it('refuses kafkajs internals of another shape', () => {
    const { installKafkajsPatches, isPatchLive } = fresh();
    const { r } = registry({
      original: (id) => (id.endsWith('/protocol/encoder') ? {} : jest.requireActual<object>(id)),
    });
    expect(() => installKafkajsPatches(r)).toThrow(/protocol\/encoder is object, not a function/);
    expect(isPatchLive('produce-encoder')).toBe(false);
  });

  it('replaces the modules of both patches in kafkajs 2.2.4 and marks them live', () => {
    const { installKafkajsPatches, isPatchLive, KAFKAJS_PATCHES, filterAbortedMessages } = fresh();
    const { r, replaced } = registry();
    installKafkajsPatches(r);
    expect(replaced.get('kafkajs/src/consumer/filterAbortedMessages')).toBe(filterAbortedMessages);
    expect([...replaced.keys()].sort()).toEqual([
      'kafkajs/src/consumer/filterAbortedMessages',
      'kafkajs/src/producer/groupMessagesPerPartition',
      'kafkajs/src/protocol/request',
      'kafkajs/src/protocol/requests/produce/v3/request',
    ]);
    for (const p of KAFKAJS_PATCHES) expect(isPatchLive(p.name)).toBe(true);
  });
});
