import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

/**
 * bin/logsplit, run from a copy in a scratch checkout with fake `node` programs, so that which
 * node it picks (and what it refuses) does not depend on this machine's nodes.
 */
const LAUNCHER = resolve(__dirname, '../../../bin/logsplit');
/** The only programs the launcher may find on PATH, besides the fake nodes. */
const TOOLS = ['bash', 'env', 'sort', 'head', 'dirname', 'readlink', 'cat'];

let root: string;

/** A fake node reporting `version`; anything else prints its name and arguments. */
function fakeNode(dir: string, version: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'node');
  writeFileSync(
    file,
    `#!/bin/sh\n[ "$1" = --version ] && { echo v${version}; exit 0; }\necho "${name}: $*"\n`,
  );
  chmodSync(file, 0o755);
  return dir;
}

function run(pathDirs: string[], launcher = join(root, 'bin/logsplit')) {
  const r = spawnSync(launcher, ['apps', '--json'], {
    env: { PATH: [...pathDirs, join(root, 'tools')].join(delimiter) },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'logsplit-launcher-'));
  mkdirSync(join(root, 'bin'));
  copyFileSync(LAUNCHER, join(root, 'bin/logsplit'));
  chmodSync(join(root, 'bin/logsplit'), 0o755);
  mkdirSync(join(root, 'tools'));
  for (const tool of TOOLS) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(found, join(root, 'tools', tool));
  }
  mkdirSync(join(root, 'dist/apps/cli/src'), { recursive: true });
  writeFileSync(join(root, 'dist/apps/cli/src/main.js'), '');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const MAIN_ARGS = () =>
  `--disable-warning=TimeoutNegativeWarning ${root}/dist/apps/cli/src/main.js apps --json`;

describe('bin/logsplit', () => {
  it('refuses an old node on PATH with the version it needs, why, and how to get it', () => {
    const r = run([fakeNode(join(root, 'old'), '20.19.2', 'old node')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('logsplit: needs Node.js >= 22.15 (for zstd in node:zlib)');
    expect(r.stderr).toContain('found: v20.19.2');
    expect(r.stderr).toContain('npm start');
  });

  it('refuses when there is no node at all', () => {
    const r = run([]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('found: no node on PATH');
  });

  it('runs the CLI with a new-enough node from PATH, passing the arguments on', () => {
    const r = run([fakeNode(join(root, 'new'), '22.15.0', 'path node')]);
    expect({ status: r.status, stdout: r.stdout.trim() }).toEqual({
      status: 0,
      stdout: `path node: ${MAIN_ARGS()}`,
    });
  });

  it('prefers the node the scripts installed into .cache/node over an old one on PATH', () => {
    fakeNode(join(root, '.cache/node/bin'), '24.3.0', 'cached node');
    const r = run([fakeNode(join(root, 'old'), '20.19.2', 'old node')]);
    expect({ status: r.status, stdout: r.stdout.trim() }).toEqual({
      status: 0,
      stdout: `cached node: ${MAIN_ARGS()}`,
    });
  });

  it('finds its checkout through a symlink (npm bin links, ~/bin)', () => {
    fakeNode(join(root, '.cache/node/bin'), '24.3.0', 'cached node');
    mkdirSync(join(root, 'elsewhere'));
    symlinkSync('../bin/logsplit', join(root, 'elsewhere/logsplit'));
    const r = run([], join(root, 'elsewhere/logsplit'));
    expect(r.stdout.trim()).toBe(`cached node: ${MAIN_ARGS()}`);
  });

  it('says to build when the CLI is not built', () => {
    rmSync(join(root, 'dist'), { recursive: true });
    const r = run([fakeNode(join(root, 'new'), '24.0.0', 'path node')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('npm run build');
  });
});
