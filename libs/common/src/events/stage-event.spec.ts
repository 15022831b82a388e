import type { Span } from '@opentelemetry/api';
import { Metrics } from '../telemetry/metrics';
import { BlocksAppended, SlotLeased } from './compressor-events';
import { StageEvents } from './stage-event';
import { SegmentArchived } from './uploader-events';

/** A span that records the attributes set on it. */
function span(): Span & { attrs: Record<string, unknown> } {
  const attrs: Record<string, unknown> = {};
  const s = {
    attrs,
    setAttribute: (k: string, v: unknown) => ((attrs[k] = v), s),
    setAttributes: (a: Record<string, unknown>) => (Object.assign(attrs, a), s),
  };
  return s as unknown as Span & { attrs: Record<string, unknown> };
}

function rig() {
  const lines: string[] = [];
  const metrics = new Metrics('compressor', 10);
  const log = { log: (m: string) => void lines.push(m), warn: () => {}, error: () => {} };
  return { events: new StageEvents(metrics, log), metrics, lines };
}

describe('stage events', () => {
  it('a lease: its wait on the metric, its slot and wait on every span it is emitted with', async () => {
    const { events, metrics } = rig();
    const [lockWait, append] = [span(), span()];
    events.emit(new SlotLeased({ slot: 2, waitedMs: 1500 }), lockWait, append);
    for (const s of [lockWait, append]) {
      expect(s.attrs).toEqual({ 'logsplit.lock.slot': 2, 'logsplit.lock.wait_ms': 1500 });
    }
    const text = await metrics.text();
    expect(text).toMatch(/logsplit_lock_wait_seconds_sum\{[^}]*\} 1.5/);
    expect(text).toMatch(/logsplit_lock_contended_total\{[^}]*\} 1/);
  });

  it('appended blocks: counted per app with their ratio, bytes on the append span', async () => {
    const { events, metrics } = rig();
    const blocks = [{ data: Buffer.alloc(10), info: { records: 4, rawBytes: 40 } }];
    const [write, append] = [span(), span()];
    events.emit(new BlocksAppended({ app: 'a', blocks, sealed: 1 }), write, append);
    expect(write.attrs).toEqual({ 'logsplit.sealed_segments': 1 });
    expect(append.attrs).toEqual({ 'logsplit.bytes_out': 10 });
    const text = await metrics.text();
    expect(text).toMatch(/logsplit_records_out_total\{app="a"[^}]*\} 4/);
    expect(text).toMatch(/logsplit_compression_ratio_sum\{[^}]*\} 4/);
  });

  it('an archived segment: counted out, its size and duration observed, one log line', async () => {
    const { events, metrics, lines } = rig();
    events.emit(
      new SegmentArchived({
        app: 'a',
        key: 'logs/a/x.log.gz',
        records: 3,
        rawBytes: 30,
        bytes: 12,
        blocks: 2,
        seconds: 0.25,
      }),
    );
    expect(lines).toEqual(['uploaded logs/a/x.log.gz: 3 records, 30 → 12 bytes in 2 blocks']);
    const text = await metrics.text();
    expect(text).toMatch(/logsplit_segment_bytes_sum\{[^}]*\} 12/);
    expect(text).toMatch(/logsplit_upload_duration_seconds_sum\{[^}]*\} 0.25/);
    expect(text).toMatch(/logsplit_bytes_out_total\{app="a"[^}]*\} 12/);
  });
});
