import { Logger } from '@nestjs/common';
import { AppAdmission } from './app-admission';

describe('AppAdmission', () => {
  let now = 0;
  const clock = () => now;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    now = 1_000_000;
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('admits up to maxApps distinct ids, then refuses new ones but keeps admitting known ones', () => {
    const sizes: number[] = [];
    const a = new AppAdmission(
      { maxApps: 2, windowMs: 1000 },
      { set: (v) => sizes.push(v) },
      clock,
    );
    expect([a.admit('x'), a.admit('y'), a.admit('z'), a.admit('x'), a.admit('y')]).toEqual([
      true,
      true,
      false,
      true,
      true,
    ]);
    expect(a.size).toBe(2);
    expect(sizes.at(-1)).toBe(2);
  });

  it('an id idle for a whole window gives its place back; an active one keeps it', () => {
    const a = new AppAdmission({ maxApps: 2, windowMs: 1000 }, undefined, clock);
    a.admit('idle');
    a.admit('busy');
    now += 600;
    a.admit('busy');
    now += 500; // idle last seen 1100 ms ago, busy 500 ms ago
    expect(a.admit('new')).toBe(true);
    expect(a.admit('busy')).toBe(true);
    expect(a.admit('idle')).toBe(false);
  });

  it('a flood cannot evict active ids: refused ids are not remembered, memory stays at maxApps', () => {
    const a = new AppAdmission({ maxApps: 100, windowMs: 3_600_000 }, undefined, clock);
    for (let i = 0; i < 100; i++) a.admit(`real-${i}`);
    for (let i = 0; i < 50_000; i++) expect(a.admit(`flood-${i}`)).toBe(false);
    expect(a.size).toBe(100);
    for (let i = 0; i < 100; i++) expect(a.admit(`real-${i}`)).toBe(true);
  });

  it('warns at most once a minute, with counts and the limit', () => {
    const a = new AppAdmission({ maxApps: 1, windowMs: 3_600_000 }, undefined, clock);
    a.admit('a');
    a.admit('b', 5); // warns at once
    for (let i = 0; i < 1000; i++) a.admit(`c${i}`, 2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(
      /^app cardinality limit: 5 records of 1 new app ids .*LOGSPLIT_MAX_APPS=1.*"b"/,
    );
    now += 60_000;
    a.admit('d', 1);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[1][0])).toMatch(/: 2001 records of 1000\+ new app ids/);
  });

  it('refuses nonsense limits', () => {
    expect(() => new AppAdmission({ maxApps: 0, windowMs: 1000 })).toThrow(RangeError);
    expect(() => new AppAdmission({ maxApps: 1, windowMs: 0 })).toThrow(RangeError);
  });
});
