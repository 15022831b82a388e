export type KafkajsPatchName = 'read-committed' | 'produce-encoder';

/** One change to kafkajs internals, applied before kafkajs loads the modules it touches. */
export interface KafkajsPatch {
  name: KafkajsPatchName;
  /** kafkajs modules that take references to the replaced ones when they load. */
  users: readonly string[];
  /**
   * kafkajs module id → its new exports, made from kafkajs' own modules (`original`); throws a
   * KafkajsPatchError when one of them no longer has the shape the patch was written against.
   */
  replacements(original: (id: string) => unknown): Record<string, unknown>;
}
