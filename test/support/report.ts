import { ArchivedIndexEntry } from './archive';

/** Files per app per rotation window, and bytes, over a set of archived segments. */
export function archiveStats(
  entries: (ArchivedIndexEntry & { rawBytes?: number })[],
  windowMs: number,
) {
  const perWindow = new Map<string, number>();
  let bytes = 0;
  let rawBytes = 0;
  for (const e of entries) {
    const w = `${e.app} ${Math.floor(e.createdAt / windowMs)}`;
    perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
    bytes += e.bytes;
    rawBytes += e.rawBytes ?? 0;
  }
  const counts = [...perWindow.values()];
  return {
    files: entries.length,
    maxFilesPerAppPerWindow: Math.max(0, ...counts),
    meanFilesPerAppPerWindow: counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length),
    bytes,
    rawBytes,
  };
}
