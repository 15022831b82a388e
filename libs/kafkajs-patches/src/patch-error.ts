/** A kafkajs patch could not be applied: the process must not go on without it. */
export class KafkajsPatchError extends Error {
  override readonly name = 'KafkajsPatchError';
}
