import { KafkajsPatchError } from './patch-error';

/** The kafkajs release the patches were written against and checked on (package.json pins it). */
export const KAFKAJS_VERSION = '2.2.4';

/** A kafkajs module export the patch relies on, checked to be a function. */
export function kafkajsFunction<F>(id: string, value: unknown): F {
  if (typeof value !== 'function') {
    throw new KafkajsPatchError(
      `kafkajs internals changed: ${id} is ${typeof value}, not a function`,
    );
  }
  return value as F;
}
