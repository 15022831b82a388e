import { parseCrashAt } from './crash-points';

describe('parseCrashAt', () => {
  it('is off when unset', () => {
    expect(parseCrashAt(undefined)).toBeUndefined();
    expect(parseCrashAt('')).toBeUndefined();
  });

  it('arms a known point for the first or the n-th time', () => {
    expect(parseCrashAt('uploader.after-index')).toEqual({
      point: 'uploader.after-index',
      remaining: 1,
    });
    expect(parseCrashAt('compressor.before-commit:3')).toEqual({
      point: 'compressor.before-commit',
      remaining: 3,
    });
  });

  it.each(['compressor.after-lunch', 'uploader.after-index:0', 'uploader.after-index:x'])(
    'rejects %s and names the known points',
    (value) => {
      expect(() => parseCrashAt(value)).toThrow(/is not one of splitter\.before-commit/);
    },
  );
});
