import { uploadEach } from './upload-each';

const refs = (n: number) => Array.from({ length: n }, (_, i) => ({ app: 'a', segmentId: `s${i}` }));

describe('uploadEach', () => {
  it('runs at most `concurrency` uploads at once, and every one of them', async () => {
    let running = 0;
    let most = 0;
    const done: string[] = [];
    await uploadEach(
      refs(10),
      3,
      async () => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return 'uploaded';
      },
      (s, outcome) => done.push(`${s.segmentId}:${String(outcome)}`),
    );
    expect(most).toBe(3);
    expect(done.sort()).toEqual(
      refs(10)
        .map((r) => `${r.segmentId}:uploaded`)
        .sort(),
    );
  });

  it('hands a failure to done as an Error and goes on with the others', async () => {
    const outcomes = new Map<string, unknown>();
    await uploadEach(
      refs(4),
      2,
      async ({ segmentId }) => {
        if (segmentId === 's1') throw new Error('store down');
        return 'uploaded';
      },
      (s, outcome) => outcomes.set(s.segmentId, outcome),
    );
    expect(outcomes.get('s1')).toEqual(new Error('store down'));
    expect([...outcomes.keys()].sort()).toEqual(['s0', 's1', 's2', 's3']);
    expect(outcomes.get('s3')).toBe('uploaded');
  });
});
