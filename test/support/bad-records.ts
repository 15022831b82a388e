export interface BadRecord {
  value: Buffer | null;
  key?: string;
  reason: string;
}

/** One of each kind of record the splitter must send to the dead-letter topic. */
export function badRecords(maxRecordBytes: number): BadRecord[] {
  const j = (o: unknown) => Buffer.from(JSON.stringify(o));
  return [
    { value: j({ msg: 'no app field' }), reason: 'missing-app-id' },
    { value: j({ app: '../../etc/passwd', msg: 'x' }), reason: 'invalid-app-id' },
    { value: j({ app: 'a/b', msg: 'x' }), reason: 'invalid-app-id' },
    { value: j({ app: '..', msg: 'x' }), reason: 'invalid-app-id' },
    { value: j({ app: 'evil\u0000nul', msg: 'x' }), reason: 'invalid-app-id' },
    { value: j({ app: 'x'.repeat(10_000), msg: 'x' }), reason: 'invalid-app-id' },
    { value: j({ app: '应用', msg: 'x' }), reason: 'invalid-app-id' },
    { value: Buffer.from('{"app": "app-0001", "msg": '), reason: 'invalid-json' },
    { value: Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), reason: 'invalid-json' },
    { value: Buffer.from('plain text, not json'), reason: 'invalid-json' },
    { value: j({ app: 'app-0001', pad: 'y'.repeat(maxRecordBytes) }), reason: 'record-too-large' },
    { value: Buffer.alloc(0), reason: 'empty-record' },
  ];
}

/** What the pipeline must do with a hostile record: a DLQ reason, or archive it under an app. */
export type HostileOutcome = { dlq: string } | { archivedAs: string };

export interface HostileCase {
  name: string;
  value: Buffer | null;
  outcome: HostileOutcome;
}

/**
 * Every kind of hostile record, one by one, for the default json source and pattern; each
 * row of docs/hostile-input.md has a case here. `app` is a valid id the archived cases use.
 */
export function hostileCases(maxRecordBytes: number, app: string): HostileCase[] {
  const j = (o: unknown) => Buffer.from(JSON.stringify(o));
  const id = (name: string, appId: unknown, dlq = 'invalid-app-id'): HostileCase => ({
    name,
    value: j({ app: appId, msg: name }),
    outcome: { dlq },
  });
  const text = (name: string, value: string | Buffer, dlq: string): HostileCase => ({
    name,
    value: Buffer.isBuffer(value) ? value : Buffer.from(value),
    outcome: { dlq },
  });
  const depth = Math.floor((maxRecordBytes - 100) / 2);
  return [
    id('parent path ../../etc/passwd', '../../etc/passwd'),
    id('slash a/b', 'a/b'),
    id('backslash a\\b', 'a\\b'),
    id('dot-dot', '..'),
    id('dot', '.'),
    id('absolute path /etc', '/etc'),
    id('NUL', 'evil\u0000nul'),
    id('ANSI escape', '\u001b[31mred'),
    id('newline', 'a\nb'),
    id('DEL', 'a\u007f'),
    id('C1 control', 'a\u0085b'),
    id('10,000-character id', 'x'.repeat(10_000)),
    id('129-byte id', 'a'.repeat(129)),
    id('empty id', ''),
    id('whitespace-only id', '   '),
    id('trailing space', `${app} `),
    id('trailing dot', `${app}.`),
    id('leading dot (hidden)', '.hidden'),
    id('reserved index prefix _index', '_index'),
    id('Windows device CON', 'CON'),
    id('Windows device nul.log', 'nul.log'),
    id('bidi override', 'good\u202eexe.txt'),
    id('zero-width space', `${app}\u200b`),
    id('BOM', `\ufeff${app}`),
    id('Cyrillic look-alike', 'g\u043e\u043ed'),
    id('decomposed e-acute (not NFC)', 'cafe\u0301'),
    id('CJK id under the ASCII pattern', '应用'),
    id('lone surrogate escaped in JSON', '\ud800'),
    id('id is an object', { name: app }),
    id('id is an array', [app]),
    id('id is a boolean', true),
    id('id is a fraction', 1.5),
    id('id is a number beyond 2^53', 2 ** 53),
    id('id is null', null, 'missing-app-id'),
    text('no app field', '{"msg":"x"}', 'missing-app-id'),
    text('escaped NUL in JSON', '{"app":"a\\u0000b"}', 'invalid-app-id'),
    text('escaped slash in JSON', '{"app":"..\\/x"}', 'invalid-app-id'),
    text('duplicate key, last one bad', `{"app":"${app}","app":"../x"}`, 'invalid-app-id'),
    text(
      'non-UTF-8 bytes in the id',
      Buffer.concat([Buffer.from('{"app":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
      'invalid-json',
    ),
    text('non-UTF-8 record', Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), 'invalid-json'),
    text('truncated JSON', `{"app":"${app}","msg":`, 'invalid-json'),
    text('plain text', 'plain text, not json', 'invalid-json'),
    text('JSON array', `[{"app":"${app}"}]`, 'invalid-json'),
    text('two JSON documents', `{"app":"${app}"}\n{"app":"${app}"}`, 'invalid-json'),
    { name: 'empty record', value: Buffer.alloc(0), outcome: { dlq: 'empty-record' } },
    { name: 'null value (tombstone)', value: null, outcome: { dlq: 'empty-record' } },
    text('whitespace-only record', ' \t\r\n', 'empty-record'),
    text(
      'record over LOGSPLIT_MAX_RECORD_BYTES',
      JSON.stringify({ app, pad: 'y'.repeat(maxRecordBytes) }),
      'record-too-large',
    ),
    {
      name: 'deeply nested JSON with a valid id',
      value: Buffer.from(`{"app":"${app}","x":${'['.repeat(depth)}${']'.repeat(depth)}}`),
      outcome: { archivedAs: app },
    },
    { name: 'integer id 42', value: j({ app: 42, msg: 'int' }), outcome: { archivedAs: '42' } },
  ];
}
