import { isSafeAppId, MAX_APP_ID_BYTES, unsafeAppIdReason } from './safe-app-id';
import { mixedScripts } from './script-mix';

describe('unsafeAppIdReason (the floor under every pattern)', () => {
  it.each([
    ['', 'empty'],
    ['a'.repeat(MAX_APP_ID_BYTES + 1), 'longer than 128 bytes'],
    ['a/b', 'contains a path separator'],
    ['a\\b', 'contains a path separator'],
    ['..', 'contains a relative path (. or ..)'],
    ['.', 'contains a relative path (. or ..)'],
    ['a\u0000b', 'contains control characters'],
    ['a\ufffd', 'contains invalid UTF-8'],
    ['_index', 'must start with a letter or digit'],
    ['app.', 'must not end with a dot'],
    [' app', 'contains whitespace'],
    ['app\u00a0x', 'contains whitespace'],
    ['a\u2003b', 'contains whitespace'],
    ['CON', 'is a reserved device name on Windows'],
    ['aux.log', 'is a reserved device name on Windows'],
    ['Lpt9', 'is a reserved device name on Windows'],
    ['com\u00b9', 'is a reserved device name on Windows'],
    ['CONOUT$', 'is a reserved device name on Windows'],
  ])('%j → %s', (id, reason) => {
    expect(unsafeAppIdReason(id)).toBe(reason);
    expect(isSafeAppId(id)).toBe(false);
  });

  it.each(['app', 'a.b', 'con-app', 'console', 'nul1', 'com10', 'app-', 'x_'])(
    '%j is safe',
    (id) => {
      expect(unsafeAppIdReason(id)).toBeUndefined();
    },
  );
});

describe('mixedScripts', () => {
  it.each([
    ['billing-01', undefined],
    ['café', undefined],
    ['日本アプリ', undefined],
    ['app-日本', undefined],
    ['한국-漢字', undefined],
    ['p\u0430ypal', ['Latin', 'Cyrillic']],
    ['\u03b1pp', ['Greek', 'Latin']],
    ['app-\u0e01', ['Latin', 'Thai']],
    ['app-\u1200', ['Latin', 'Other']],
  ])('%j → %j', (id, scripts) => {
    expect(mixedScripts(id)).toEqual(scripts);
  });
});
