import { ConfigError } from '@logsplit/common';
import {
  AppIdConfig,
  AppIdResult,
  ExtractResult,
  RawRecord,
  clip,
  createAppIdExtractor,
  validateAppId,
} from './app-id';

const DEFAULT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
const UNICODE_PATTERN = '^[\\p{L}\\p{N}._-]{1,64}$';

const config = (over: Partial<AppIdConfig> = {}): AppIdConfig => ({
  source: 'json',
  jsonPath: 'app',
  header: 'app-id',
  pattern: DEFAULT_PATTERN,
  ...over,
});

const record = (over: Partial<RawRecord> = {}): RawRecord => ({
  key: null,
  value: Buffer.from('{}'),
  headers: {},
  offset: '0',
  timestamp: '1700000000000',
  ...over,
});

const json = (value: unknown): RawRecord => record({ value: Buffer.from(JSON.stringify(value)) });

function extract(cfg: Partial<AppIdConfig>, rec: RawRecord): ExtractResult {
  return createAppIdExtractor(config(cfg)).extract(rec);
}

/** extract + validate, as splitBatch does. */
function resolve(cfg: Partial<AppIdConfig>, rec: RawRecord): AppIdResult {
  const found = extract(cfg, rec);
  return found.ok ? validateAppId(found.id, cfg.pattern ?? DEFAULT_PATTERN) : found;
}

const reasonOf = (r: ExtractResult | AppIdResult): string => (r.ok ? 'ok' : r.reason);

describe('json extractor', () => {
  it('reads a top-level field', () => {
    expect(extract({}, json({ app: 'billing', msg: 'x' }))).toEqual({ ok: true, id: 'billing' });
  });

  it('reads a nested dot path', () => {
    const rec = json({ kubernetes: { labels: { app: 'checkout' } }, app: 'other' });
    expect(extract({ jsonPath: 'kubernetes.labels.app' }, rec)).toEqual({
      ok: true,
      id: 'checkout',
    });
  });

  it('accepts a JSON line with trailing newline and a leading BOM', () => {
    const value = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"app":"a"}\n')]);
    expect(extract({}, record({ value }))).toEqual({ ok: true, id: 'a' });
  });

  it.each([
    ['not JSON', 'app=billing level=info'],
    ['truncated JSON', '{"app":"billing"'],
    ['two documents', '{"app":"a"}\n{"app":"b"}'],
  ])('rejects %s as invalid-json', (_name, text) => {
    expect(reasonOf(extract({}, record({ value: Buffer.from(text) })))).toBe('invalid-json');
  });

  it('rejects invalid UTF-8 as invalid-json even when the id itself is fine', () => {
    const value = Buffer.concat([
      Buffer.from('{"app":"a","m":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    expect(extract({}, record({ value }))).toEqual({
      ok: false,
      reason: 'invalid-json',
      detail: 'value is not valid UTF-8',
    });
  });

  it.each([
    ['an array', [{ app: 'a' }]],
    ['a string', 'a'],
    ['a number', 42],
    ['null', null],
    ['a boolean', true],
  ])('rejects a document that is %s as invalid-json', (kind, doc) => {
    const r = extract({}, json(doc));
    expect(r).toEqual({
      ok: false,
      reason: 'invalid-json',
      detail: `value is ${kind}, not a JSON object`,
    });
  });

  it.each([
    ['absent field', { msg: 'x' }, 'app'],
    ['absent intermediate', { kubernetes: {} }, 'kubernetes.labels.app'],
    ['intermediate is a string', { kubernetes: 'labels' }, 'kubernetes.labels.app'],
    [
      'intermediate is an array',
      { kubernetes: [{ labels: { app: 'a' } }] },
      'kubernetes.labels.app',
    ],
    ['field is null', { app: null }, 'app'],
    ['inherited property', {}, 'constructor.name'],
  ])('%s → missing-app-id', (_name, doc, jsonPath) => {
    expect(reasonOf(extract({ jsonPath }, json(doc)))).toBe('missing-app-id');
  });

  it.each([
    ['an array', ['a']],
    ['an object', { name: 'a' }],
    ['a boolean', false],
    ['a number but not a safe integer', 1.5],
    ['a number but not a safe integer', 2 ** 53],
  ])('a field that is %s → invalid-app-id', (kind, app) => {
    expect(extract({}, json({ app }))).toEqual({
      ok: false,
      reason: 'invalid-app-id',
      detail: `app is ${kind}, not a string`,
    });
  });

  it('converts a safe integer to its decimal string', () => {
    expect(extract({}, json({ app: 42 }))).toEqual({ ok: true, id: '42' });
    expect(extract({}, record({ value: Buffer.from('{"app": 7.0}') }))).toEqual({
      ok: true,
      id: '7',
    });
    // Extracted, then refused by validation: a leading '-' is never a valid id.
    expect(reasonOf(resolve({}, json({ app: -3 })))).toBe('invalid-app-id');
  });

  it('keeps the JSON parse error short and free of control characters', () => {
    const value = Buffer.from(`\u001b[31m${'x'.repeat(10_000)}`);
    const r = extract({}, record({ value }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('invalid-json');
    expect(r.detail.length).toBeLessThan(200);
    expect(r.detail).not.toMatch(/\p{Cc}/u);
  });
});

describe('header extractor', () => {
  const cfg = { source: 'header' as const, header: 'app-id' };

  it('reads a header given as bytes (as kafkajs delivers it) or as a string', () => {
    expect(resolve(cfg, record({ headers: { 'app-id': Buffer.from('billing') } }))).toEqual({
      ok: true,
      id: 'billing',
    });
    expect(resolve(cfg, record({ headers: { 'app-id': 'billing' } }))).toEqual({
      ok: true,
      id: 'billing',
    });
  });

  it('takes the first value of a repeated header', () => {
    const rec = record({ headers: { 'app-id': [Buffer.from('first'), Buffer.from('second')] } });
    expect(resolve(cfg, rec)).toEqual({ ok: true, id: 'first' });
  });

  it.each([
    ['no headers at all', record({ headers: undefined })],
    ['another header only', record({ headers: { 'APP-ID': Buffer.from('a') } })],
    ['an undefined value', record({ headers: { 'app-id': undefined } })],
    ['an empty array', record({ headers: { 'app-id': [] } })],
  ])('%s → missing-app-id', (_name, rec) => {
    expect(reasonOf(extract(cfg, rec))).toBe('missing-app-id');
  });

  it('rejects non-UTF-8 bytes (0xff 0xfe) strictly, not as U+FFFD', () => {
    const rec = record({ headers: { 'app-id': Buffer.from([0x61, 0xff, 0xfe]) } });
    expect(resolve(cfg, rec)).toEqual({
      ok: false,
      reason: 'invalid-app-id',
      detail: 'not valid UTF-8 (bytes 61fffe)',
    });
  });

  it('does not parse the value: a non-JSON record is fine', () => {
    const rec = record({
      value: Buffer.from('plain text'),
      headers: { 'app-id': Buffer.from('a') },
    });
    expect(resolve(cfg, rec)).toEqual({ ok: true, id: 'a' });
  });
});

describe('key extractor', () => {
  const cfg = { source: 'key' as const };

  it('reads the key as UTF-8', () => {
    expect(resolve(cfg, record({ key: Buffer.from('billing') }))).toEqual({
      ok: true,
      id: 'billing',
    });
  });

  it('a null key → missing-app-id; an empty key → invalid-app-id', () => {
    expect(reasonOf(resolve(cfg, record({ key: null })))).toBe('missing-app-id');
    expect(reasonOf(resolve(cfg, record({ key: Buffer.alloc(0) })))).toBe('invalid-app-id');
  });

  it('rejects non-UTF-8 bytes (0xff 0xfe)', () => {
    expect(resolve(cfg, record({ key: Buffer.from([0xff, 0xfe]) }))).toEqual({
      ok: false,
      reason: 'invalid-app-id',
      detail: 'not valid UTF-8 (bytes fffe)',
    });
  });

  it('accepts a multi-byte UTF-8 id only with a permissive pattern', () => {
    const rec = record({ key: Buffer.from('应用') });
    expect(reasonOf(resolve(cfg, rec))).toBe('invalid-app-id');
    expect(resolve({ ...cfg, pattern: UNICODE_PATTERN }, rec)).toEqual({ ok: true, id: '应用' });
  });
});

describe('regex extractor', () => {
  const text = (s: string | Buffer) => record({ value: Buffer.isBuffer(s) ? s : Buffer.from(s) });

  it('uses the group named app when there is one', () => {
    const cfg = { source: 'regex' as const, regex: '^(\\S+) app=(?<app>[^ ]+)' };
    expect(resolve(cfg, text('2024-01-01 app=billing msg'))).toEqual({ ok: true, id: 'billing' });
  });

  it('uses group 1 otherwise', () => {
    const cfg = { source: 'regex' as const, regex: '\\[([^\\]]+)\\]' };
    expect(resolve(cfg, text('INFO [checkout] paid'))).toEqual({ ok: true, id: 'checkout' });
  });

  it('no match, or a named group that did not take part → missing-app-id', () => {
    const cfg = { source: 'regex' as const, regex: 'app=(?<app>\\w+)|legacy' };
    expect(reasonOf(extract(cfg, text('nothing here')))).toBe('missing-app-id');
    expect(reasonOf(extract(cfg, text('legacy line')))).toBe('missing-app-id');
  });

  it('compiles with the u flag: \\p{L} and multi-byte ids work', () => {
    const cfg = { source: 'regex' as const, regex: 'app=(\\p{L}+)', pattern: UNICODE_PATTERN };
    expect(resolve(cfg, text('app=应用 ok'))).toEqual({ ok: true, id: '应用' });
  });

  it('an invalid byte inside the id is refused; elsewhere in the line it is tolerated', () => {
    const cfg = { source: 'regex' as const, regex: 'app=(\\S+)', pattern: '.*' };
    const bad = Buffer.concat([Buffer.from('app=a'), Buffer.from([0xff]), Buffer.from(' x')]);
    expect(reasonOf(resolve(cfg, text(bad)))).toBe('invalid-app-id');
    const ok = Buffer.concat([Buffer.from('app=a '), Buffer.from([0xff])]);
    expect(resolve(cfg, text(ok))).toEqual({ ok: true, id: 'a' });
  });
});

describe('createAppIdExtractor', () => {
  it.each([
    ['a regex source without a regex', { source: 'regex' as const }],
    ['a regex without a capture group', { source: 'regex' as const, regex: 'app=\\w+' }],
    ['a regex that is invalid in u mode', { source: 'regex' as const, regex: '(\\_)' }],
    ['a pattern that is invalid in u mode', { pattern: '^a{$' }],
    ['a pattern that is only valid once wrapped', { pattern: 'a)|(b' }],
    ['an unknown source', { source: 'body' as unknown as AppIdConfig['source'] }],
  ])('fails at start-up with ConfigError for %s', (_name, over) => {
    expect(() => createAppIdExtractor(config(over))).toThrow(ConfigError);
  });
});

describe('validateAppId', () => {
  it.each([
    'billing',
    'a',
    'A-1',
    'svc.v2',
    'x_y',
    '0',
    'a'.repeat(128),
    'console',
    'nullable',
    'com10',
    'app-',
  ])('accepts %j', (id) => {
    expect(validateAppId(id, DEFAULT_PATTERN)).toEqual({ ok: true, id });
  });

  // Each case is refused by the default pattern and by the permissive patterns an operator might
  // configure: the floor holds whatever the pattern says.
  const hostile: [string, string | Buffer][] = [
    ['parent path', '../etc'],
    ['slash', 'a/b'],
    ['backslash', 'a\\b'],
    ['dot-dot alone', '..'],
    ['dot alone', '.'],
    ['dot-dot inside', 'a..b'],
    ['NUL', 'a\u0000b'],
    ['ANSI escape', '\u001b[31m'],
    ['newline', 'a\nb'],
    ['DEL', 'a\u007f'],
    ['C1 control', 'a\u0085b'],
    ['line separator', 'a\u2028b'],
    ['bidi override', 'a\u202eb'],
    ['zero-width space', 'a\u200bb'],
    ['BOM', '\ufeffapp'],
    ['unpaired surrogate', 'a\ud800'],
    ['replacement char', 'a\ufffd'],
    ['10,000 chars', 'a'.repeat(10_000)],
    ['129 bytes', 'a'.repeat(129)],
    ['empty', ''],
    ['leading dot', '.hidden'],
    ['leading dash', '-rf'],
    ['bytes 0xff 0xfe', Buffer.from([0xff, 0xfe])],
    ['BOM bytes', Buffer.from([0xef, 0xbb, 0xbf, 0x61])],
    ['overlong slash bytes', Buffer.from([0x61, 0xc0, 0xaf, 0x62])],
    ['whitespace only', '   '],
    ['leading space', ' app'],
    ['trailing space', 'app '],
    ['inner space', 'my app'],
    ['tab', 'a\tb'],
    ['no-break space', 'a\u00a0b'],
    ['ideographic space', 'a\u3000b'],
    ['trailing dot', 'app.'],
    ['Windows device CON', 'CON'],
    ['Windows device nul.log', 'nul.log'],
    ['Windows device com1', 'com1'],
    ['decomposed e-acute (not NFC)', 'cafe\u0301'],
    ['Latin with a Cyrillic a', 'p\u0430ypal'],
    ['Latin with a Greek omicron', 'g\u03bfogle'],
  ];

  describe.each([
    ['the default pattern', DEFAULT_PATTERN],
    ['a loose pattern .*', '.*'],
    ['a looser pattern [\\s\\S]*', '[\\s\\S]*'],
  ])('with %s', (_name, pattern) => {
    it.each(hostile)('rejects %s', (_case, id) => {
      const r = validateAppId(id, pattern);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.reason).toBe('invalid-app-id');
      // Short detail, no raw control or invisible characters, at most 64 characters of the id.
      expect(r.detail.length).toBeLessThan(160);
      expect(r.detail).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|[\ud800-\udfff]/u);
    });
  });

  it('escapes control characters in the detail instead of echoing them', () => {
    const r = validateAppId('\u001b[31mred', '.*');
    expect(r).toEqual({
      ok: false,
      reason: 'invalid-app-id',
      detail: 'contains control characters: "\\u{1b}[31mred"',
    });
  });

  it('echoes at most 64 characters of a 10,000-char id', () => {
    const r = validateAppId('z'.repeat(10_000), '.*');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.detail).toBe(`longer than 128 bytes (10000): "${'z'.repeat(64)}...(10000 chars)"`);
  });

  it('a pattern must match the whole id, anchored or not', () => {
    expect(validateAppId('abc', '[a-z]+').ok).toBe(true);
    expect(validateAppId('abc1', '[a-z]+').ok).toBe(false);
    expect(validateAppId('b', 'a|b').ok).toBe(true);
    expect(validateAppId('ab', 'a|b').ok).toBe(false);
  });

  describe('multi-byte UTF-8 ids', () => {
    it('are refused by the default ASCII pattern', () => {
      expect(validateAppId('应用', DEFAULT_PATTERN)).toEqual({
        ok: false,
        reason: 'invalid-app-id',
        detail: 'does not match the app id pattern: "应用"',
      });
    });

    it('are accepted by a \\p{L} pattern (compiled with u), as a string or as bytes', () => {
      expect(validateAppId('应用', UNICODE_PATTERN)).toEqual({ ok: true, id: '应用' });
      expect(validateAppId(Buffer.from('应用-ü.1'), UNICODE_PATTERN)).toEqual({
        ok: true,
        id: '应用-ü.1',
      });
    });

    it('accept one writing system, also Japanese/Chinese/Korean mixed with Latin', () => {
      for (const id of ['café', 'почта', '日本アプリ', 'app-日本', '서비스-1', 'ελληνικά'])
        expect(validateAppId(id, UNICODE_PATTERN)).toEqual({ ok: true, id });
    });

    it('are refused when they mix look-alike scripts or are not NFC, saying so', () => {
      expect(validateAppId('p\u0430ypal', UNICODE_PATTERN)).toEqual({
        ok: false,
        reason: 'invalid-app-id',
        detail: 'mixes scripts (Latin, Cyrillic): "p\u0430ypal"',
      });
      expect(validateAppId('cafe\u0301', UNICODE_PATTERN)).toEqual({
        ok: false,
        reason: 'invalid-app-id',
        detail: 'not in Unicode normalization form C (NFC): "cafe\u0301"',
      });
    });

    it('count bytes, not characters, against the 128-byte bound', () => {
      expect(validateAppId('应'.repeat(42), UNICODE_PATTERN).ok).toBe(true); // 126 bytes
      expect(validateAppId('应'.repeat(43), UNICODE_PATTERN)).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/^longer than 128 bytes \(129\)/),
      });
    });
  });
});

describe('clip', () => {
  it('keeps short printable text as it is', () => {
    expect(clip('billing 应用')).toBe('billing 应用');
  });

  it('escapes quotes, backslashes and invisible characters', () => {
    expect(clip('a"b\\c\u0000\u202e')).toBe('a\\u{22}b\\u{5c}c\\u{0}\\u{202e}');
  });

  it('cuts at max code points without splitting a surrogate pair', () => {
    expect(clip('😀'.repeat(100), 3)).toBe('😀😀😀...(200 chars)');
  });
});
