import {
  ATTRS,
  boundedLinks,
  ManifestEntry,
  MAX_LINKS,
  parseTraceparent,
  SegmentState,
} from '@logsplit/common';

/** Attributes of the uploader.segment and uploader.seal spans. */
export function segmentAttributes(segment: SegmentState) {
  return {
    [ATTRS.appId]: segment.meta.app,
    [ATTRS.segmentId]: segment.meta.segmentId,
    [ATTRS.records]: segment.entries.reduce((n, e) => n + e.records, 0),
    [ATTRS.bytesIn]: segment.entries.reduce((n, e) => n + e.rawBytes, 0),
    [ATTRS.bytesOut]: segment.committedBytes,
  };
}

/** Links to the compressor.append spans that wrote the segment's blocks (bounded). */
export function blockLinks(segment: SegmentState) {
  return boundedLinks(
    segment.entries.map((e: ManifestEntry) => (e.trace ? parseTraceparent(e.trace) : undefined)),
    MAX_LINKS,
  );
}
