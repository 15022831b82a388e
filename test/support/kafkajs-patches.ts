// Jest setupFiles of the e2e project: test clients (readers, producers) run kafkajs patched as
// the services do, through jest's module registry (jest keeps no node require cache).
import { installKafkajsPatches } from '@logsplit/kafkajs-patches';

installKafkajsPatches({
  // Setup files run before the test file has required anything.
  loaded: () => false,
  original: (id) => jest.requireActual<object>(id),
  replace: (id, exports) => void jest.mock(id, () => exports),
});
