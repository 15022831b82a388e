import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './support/infra';
import { DIST } from './support/services';

const run = promisify(execFile);
/** Test-only code: doubles and contract suites, e2e support, the bench harness, specs. */
const TEST_ONLY = /^(libs\/testing|test|bench)\/|\.spec\.[jt]s$/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** The production build and image hold no test code (libs/testing and the rest of TEST_ONLY). */
describe('production build', () => {
  it('compiles no test-only file, even one imported by production code', async () => {
    const tsc = join(ROOT, 'node_modules/.bin/tsc');
    const { stdout } = await run(tsc, ['-p', 'tsconfig.build.json', '--listFilesOnly'], {
      cwd: ROOT,
      maxBuffer: 64 << 20,
    });
    const ours = stdout
      .split('\n')
      .filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/'))
      .map((f) => relative(ROOT, f));
    expect(ours).toContain('libs/kafkajs-patches/src/install.ts');
    expect(ours.filter((f) => TEST_ONLY.test(f))).toEqual([]);
  }, 60_000);

  it('has no test-only file in dist/', () => {
    const files = filesUnder(DIST);
    expect(files).toContain('libs/common/src/index.js');
    expect(files.filter((f) => TEST_ONLY.test(f))).toEqual([]);
  });

  it('keeps test-only folders out of the image build context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['libs/testing', 'test', 'bench', '**/*.spec.ts']) expect(ignore).toContain(p);
  });
});
