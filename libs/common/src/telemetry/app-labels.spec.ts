import { AppLabels, NO_APP, OTHER_APP } from './app-labels';
import { Metrics } from './metrics';

describe('AppLabels', () => {
  it('gives the first K apps their own label and every later one "other"', () => {
    const labels = new AppLabels(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((a) => labels.label(a))).toEqual([
      'a',
      'b',
      'c',
      OTHER_APP,
      OTHER_APP,
    ]);
    // An admitted app keeps its label; the set never changes once full.
    expect(labels.label('b')).toBe('b');
    expect(labels.label('d')).toBe(OTHER_APP);
  });

  it('stays bounded under 10,000 distinct ids', () => {
    const labels = new AppLabels(50);
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(labels.label(`app-${i}`));
    expect(seen.size).toBe(51); // 50 apps + "other"
  });

  it('with an allow-list, labels exactly those apps', () => {
    const labels = new AppLabels(1000, ['billing', 'checkout']);
    expect(['billing', 'x', 'checkout', 'y'].map((a) => labels.label(a))).toEqual([
      'billing',
      OTHER_APP,
      'checkout',
      OTHER_APP,
    ]);
  });

  it('never admits the reserved values as apps, and K = 0 puts everything in "other"', () => {
    const labels = new AppLabels(2);
    expect(labels.label(OTHER_APP)).toBe(OTHER_APP);
    expect(labels.label(NO_APP)).toBe(OTHER_APP);
    expect(labels.label('a')).toBe('a');
    expect(labels.label('b')).toBe('b');
    expect(new AppLabels(0).label('a')).toBe(OTHER_APP);
  });
});

describe('Metrics', () => {
  it('exports bounded per-app series in Prometheus text', async () => {
    const m = new Metrics('compressor', 2);
    for (const app of ['a', 'b', 'c', 'd']) m.recordsOut.inc({ app: m.app(app) }, 10);
    m.dlqRecords.inc({ reason: 'invalid-chunk' });
    const text = await m.text();
    const series = text.split('\n').filter((l) => l.startsWith('logsplit_records_out_total{'));
    expect(series.sort()).toEqual([
      'logsplit_records_out_total{app="a",service="compressor"} 10',
      'logsplit_records_out_total{app="b",service="compressor"} 10',
      'logsplit_records_out_total{app="other",service="compressor"} 20',
    ]);
    expect(text).toContain(
      'logsplit_dlq_records_total{reason="invalid-chunk",service="compressor"} 1',
    );
    expect(text).toContain('# TYPE logsplit_lock_wait_seconds histogram');
  });
});
