import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  forgetSecrets,
  isSecretSetting,
  REDACTED,
  redactSecrets,
  rememberSecret,
  rememberSecrets,
  resolveSecretFiles,
} from './secrets';

describe('secret settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secrets-'));
    forgetSecrets();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads NAME_FILE into NAME without its trailing newline', () => {
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, 's3cr3t-value\n');
    const { env, problems } = resolveSecretFiles({ OSS_ACCESS_KEY_SECRET_FILE: file });
    expect(problems).toEqual([]);
    expect(env.OSS_ACCESS_KEY_SECRET).toBe('s3cr3t-value');
  });

  it('refuses NAME and NAME_FILE together, a missing file and an empty one, naming the variable only', () => {
    const empty = path.join(dir, 'empty');
    fs.writeFileSync(empty, '\n');
    expect(
      resolveSecretFiles({ OSS_ACCESS_KEY_SECRET: 'abcd', OSS_ACCESS_KEY_SECRET_FILE: empty })
        .problems,
    ).toEqual(['OSS_ACCESS_KEY_SECRET_FILE: OSS_ACCESS_KEY_SECRET is set too; set one of them']);
    expect(
      resolveSecretFiles({ OSS_ACCESS_KEY_SECRET_FILE: path.join(dir, 'nope') }).problems[0],
    ).toMatch(/^OSS_ACCESS_KEY_SECRET_FILE: cannot read ".*nope" \(ENOENT\)$/);
    expect(resolveSecretFiles({ OSS_ACCESS_KEY_SECRET_FILE: empty }).problems[0]).toMatch(
      /is empty$/,
    );
  });

  it('redacts remembered values wherever they occur', () => {
    rememberSecrets({ OSS_ACCESS_KEY_SECRET: 'hunter22' });
    rememberSecret('tok-123456');
    rememberSecret('ab'); // too short to search for
    expect(redactSecrets('a hunter22 b hunter22 tok-123456 ab')).toBe(
      `a ${REDACTED} b ${REDACTED} ${REDACTED} ab`,
    );
  });

  it('knows the secret settings and their _FILE forms', () => {
    expect(isSecretSetting('OSS_ACCESS_KEY_SECRET')).toBe(true);
    expect(isSecretSetting('OSS_ACCESS_KEY_SECRET_FILE')).toBe(true);
    expect(isSecretSetting('OSS_BUCKET')).toBe(false);
  });
});
