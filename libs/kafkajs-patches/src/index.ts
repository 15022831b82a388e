// Public entry. Installing is the side-effect entry '@logsplit/kafkajs-patches/install'.
export { installKafkajsPatches, KAFKAJS_PATCHES } from './install-patches';
export type { KafkajsPatch, KafkajsPatchName } from './kafkajs-patch';
export { KAFKAJS_VERSION } from './kafkajs-shape';
export type { ModuleRegistry } from './module-registry';
export { KafkajsPatchError } from './patch-error';
export { isPatchLive } from './patch-status';
export { filterAbortedMessages } from './read-committed';
