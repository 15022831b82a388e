// Jest setupFiles of the e2e project: test readers drop aborted transactions as the services do
// (read-committed), through jest's module registry (jest keeps no node require cache).
// The produce encoder stays off here: with it, the idempotent producers of these tests were
// fenced now and then with OutOfOrderSequence (conservation.e2e-spec.ts, only under jest); the
// built services, which the e2e tests run, have both patches (kafkajs-patches.e2e-spec.ts).
import { installKafkajsPatches, KAFKAJS_PATCHES } from '@logsplit/kafkajs-patches';

installKafkajsPatches(
  {
    // Setup files run before the test file has required anything.
    loaded: () => false,
    original: (id) => jest.requireActual<object>(id),
    replace: (id, exports) => void jest.mock(id, () => exports),
  },
  KAFKAJS_PATCHES.filter((p) => p.name === 'read-committed'),
);
