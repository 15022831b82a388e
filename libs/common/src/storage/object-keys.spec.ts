import { appIndexPrefix, appSegmentPrefix, indexEntryKey, segmentObjectKey } from './object-keys';

const at = Date.UTC(2024, 0, 2, 3, 59, 59, 999); // 2024-01-02 03:59:59.999 UTC

describe('object keys', () => {
  it('puts a segment under its app and the UTC hour it was created', () => {
    expect(segmentObjectKey('logs', 'billing-api', 'seg-01', at, '.log.gz')).toBe(
      'logs/billing-api/dt=2024-01-02/hh=03/seg-01.log.gz',
    );
    expect(segmentObjectKey('a/b', 'app', 's', Date.UTC(2024, 11, 31, 23), '.log.zst')).toBe(
      'a/b/app/dt=2024-12-31/hh=23/s.log.zst',
    );
  });

  it('mirrors the layout for index entries under <prefix>/_index/', () => {
    expect(indexEntryKey('logs', 'billing-api', 'seg-01', at)).toBe(
      'logs/_index/billing-api/dt=2024-01-02/hh=03/seg-01.json',
    );
    expect(appIndexPrefix('logs', 'billing-api')).toBe('logs/_index/billing-api/');
    expect(appSegmentPrefix('logs', 'billing-api')).toBe('logs/billing-api/');
  });

  it('keeps one app prefix from matching another that shares its start', () => {
    expect(indexEntryKey('logs', 'app', 's', at).startsWith(appIndexPrefix('logs', 'ap'))).toBe(
      false,
    );
  });

  it('does not depend on the local time zone', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Asia/Shanghai';
    try {
      expect(segmentObjectKey('logs', 'a', 's', at, '.log.gz')).toContain('dt=2024-01-02/hh=03/');
    } finally {
      process.env.TZ = tz;
    }
  });

  it.each(['', '_index', '../x', 'a/b', '.hidden', 'ctl\u0001'])('refuses the app id %j', (app) => {
    expect(() => segmentObjectKey('logs', app, 's', at, '.log.gz')).toThrow(/app id/);
    expect(() => indexEntryKey('logs', app, 's', at)).toThrow(/app id/);
    expect(() => appIndexPrefix('logs', app)).toThrow(/app id/);
  });

  it.each(['', '..', 'a/b', '-x', 'a b'])('refuses the segment id %j', (id) => {
    expect(() => segmentObjectKey('logs', 'app', id, at, '.log.gz')).toThrow(/segment id/);
    expect(() => indexEntryKey('logs', 'app', id, at)).toThrow(/segment id/);
  });

  it('refuses bad extensions, times and prefixes', () => {
    expect(() => segmentObjectKey('logs', 'app', 's', at, '/x')).toThrow(/extension/);
    expect(() => segmentObjectKey('logs', 'app', 's', NaN, '.gz')).toThrow(/creation time/);
    expect(() => segmentObjectKey('../logs', 'app', 's', at, '.gz')).toThrow(/unsafe/);
    expect(() => segmentObjectKey('/logs', 'app', 's', at, '.gz')).toThrow(/unsafe/);
  });

  it('allows an empty prefix', () => {
    expect(segmentObjectKey('', 'app', 's', at, '.gz')).toBe('app/dt=2024-01-02/hh=03/s.gz');
    expect(appIndexPrefix('', 'app')).toBe('_index/app/');
  });
});
