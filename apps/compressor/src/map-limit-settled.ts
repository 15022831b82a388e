/**
 * Runs fn over items with at most `limit` at once. On a failure it starts nothing new and
 * rejects only once every started call has settled: a retry of the same work must never run
 * beside leftovers of the failed attempt (two appends of one chunk).
 */
export async function mapLimitSettled<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}
