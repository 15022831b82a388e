import { indexListPrefixes } from './index-scan';
import { parseDuration, parseTime, parseWindow } from './time-arg';

const NOW = Date.parse('2026-11-23T12:00:00Z');

describe('time arguments', () => {
  it.each([
    ['now', NOW],
    ['15m', NOW - 15 * 60_000],
    ['2h', NOW - 2 * 3_600_000],
    ['1d', NOW - 86_400_000],
    ['1763900000000', 1763900000000],
    ['2026-11-23', Date.parse('2026-11-23T00:00:00Z')],
    ['2026-11-23T14:00', Date.parse('2026-11-23T14:00:00Z')],
    ['2026-11-23 14:00:05', Date.parse('2026-11-23T14:00:05Z')],
    ['2026-11-23T14:00:00+08:00', Date.parse('2026-11-23T06:00:00Z')],
    ['2026-11-23T14:00:00.250Z', Date.parse('2026-11-23T14:00:00.250Z')],
  ])('reads %s', (text, ms) => {
    expect(parseTime(text, NOW)).toBe(ms);
  });

  it.each(['yesterday', '12:00', '2026-13-45', '-5m', ''])('refuses %j', (text) => {
    expect(() => parseTime(text, NOW)).toThrow(/not a time/);
  });

  it('reads durations and refuses nonsense', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250')).toBe(250);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });

  it('refuses a window that ends before it starts', () => {
    expect(() => parseWindow('1h', '2h', NOW)).toThrow(/--since .* is after --until/);
    expect(parseWindow(undefined, undefined, NOW)).toEqual({ since: -Infinity, until: Infinity });
  });
});

describe('index list prefixes', () => {
  const at = (iso: string) => Date.parse(iso);

  it("lists the app's whole index when there is no --since", () => {
    expect(indexListPrefixes('logs', 'web', { since: -Infinity, until: NOW }, 0, NOW)).toEqual([
      'logs/_index/web/',
    ]);
  });

  it('lists only the dt= days of the window widened by the lag', () => {
    const w = { since: at('2026-11-20T00:30:00Z'), until: at('2026-11-21T10:00:00Z') };
    expect(indexListPrefixes('logs', 'web', w, 3_600_000, NOW)).toEqual([
      'logs/_index/web/dt=2026-11-19/',
      'logs/_index/web/dt=2026-11-20/',
      'logs/_index/web/dt=2026-11-21/',
    ]);
    expect(indexListPrefixes('a/b', 'web', w, 0, NOW)).toEqual([
      'a/b/_index/web/dt=2026-11-20/',
      'a/b/_index/web/dt=2026-11-21/',
    ]);
  });

  it('stops at today (+ lag) when --until is open, and lists the app once for long windows', () => {
    const open = { since: at('2026-11-23T08:00:00Z'), until: Infinity };
    expect(indexListPrefixes('logs', 'web', open, 0, NOW)).toEqual([
      'logs/_index/web/dt=2026-11-23/',
    ]);
    const long = { since: at('2026-01-01T00:00:00Z'), until: NOW };
    expect(indexListPrefixes('logs', 'web', long, 0, NOW)).toEqual(['logs/_index/web/']);
  });

  it('refuses app ids that could name another prefix', () => {
    for (const app of ['../x', 'a/b', '']) {
      expect(() => indexListPrefixes('logs', app, { since: 0, until: 1 }, 0, NOW)).toThrow();
    }
  });
});
