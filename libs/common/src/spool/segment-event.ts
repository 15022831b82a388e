/** Value of a message on the segments topic (key = app id). */
export interface SegmentSealedEvent {
  type: 'segment-sealed';
  app: string;
  segmentId: string;
  bytes: number;
  records: number;
  sealedAt: number;
}

export function encodeSegmentEvent(e: SegmentSealedEvent): Buffer {
  return Buffer.from(JSON.stringify(e));
}

export function decodeSegmentEvent(value: Buffer | null): SegmentSealedEvent | undefined {
  if (!value) return undefined;
  try {
    const e = JSON.parse(value.toString('utf8')) as Partial<SegmentSealedEvent>;
    return e.type === 'segment-sealed' &&
      typeof e.app === 'string' &&
      typeof e.segmentId === 'string'
      ? (e as SegmentSealedEvent)
      : undefined;
  } catch {
    return undefined;
  }
}
