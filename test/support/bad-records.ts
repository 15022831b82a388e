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
