import { nodeTooOld } from './node-version';

describe('nodeTooOld', () => {
  it.each(['20.19.2', 'v20.19.2', '22.14.0', '18.20.0'])(
    'refuses %s, naming what it needs',
    (v) => {
      const msg = nodeTooOld(v);
      expect(msg).toContain('needs Node.js >= 22.15 (for zstd in node:zlib)');
      expect(msg).toContain(`found: v${v.replace(/^v/, '')}`);
      expect(msg).toContain('npm start');
    },
  );

  it.each(['22.15.0', '22.20.1', '24.0.0', '26.1.0'])('accepts %s', (v) => {
    expect(nodeTooOld(v)).toBeUndefined();
  });

  it('accepts the node running the tests', () => {
    expect(nodeTooOld()).toBeUndefined();
  });
});
