/* eslint-disable @typescript-eslint/no-require-imports -- a fresh patch state per test */
import { Logger } from '@nestjs/common';
import { Metrics } from '../telemetry';

/** The check and the patch library as a process sees them that has installed nothing yet. */
function fresh() {
  let m!: typeof import('./kafkajs-patch-check') & typeof import('@logsplit/kafkajs-patches');
  jest.isolateModules(() => {
    m = { ...require('./kafkajs-patch-check'), ...require('@logsplit/kafkajs-patches') };
  });
  return m;
}

describe('requireKafkajsPatches (runService)', () => {
  const log = { log: jest.fn() } as unknown as Logger;

  it('refuses to run a service whose main did not install the patches', () => {
    const { requireKafkajsPatches } = fresh();
    expect(() => requireKafkajsPatches(new Metrics('t', 10), log)).toThrow(
      /kafkajs patches not installed \(read-committed, produce-encoder\)/,
    );
  });

  it('shows both patches live as a gauge and a log line', async () => {
    const { requireKafkajsPatches, installKafkajsPatches } = fresh();
    installKafkajsPatches({
      loaded: () => false,
      original: (id) => jest.requireActual<object>(id),
      replace: () => undefined,
    });
    const metrics = new Metrics('t', 10);
    requireKafkajsPatches(metrics, log);
    const text = await metrics.registry.metrics();
    expect(text).toContain('logsplit_kafkajs_patch{patch="read-committed",service="t"} 1');
    expect(text).toContain('logsplit_kafkajs_patch{patch="produce-encoder",service="t"} 1');
    expect(log.log).toHaveBeenCalledWith('kafkajs read-committed, produce-encoder patches live');
  });
});
