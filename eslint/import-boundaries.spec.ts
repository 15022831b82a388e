import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

interface Case {
  file: string;
  code: string;
}

/**
 * The repo's eslint.config.mjs run through ESLint's API on snippets placed at `file`, in a child
 * process (the config is an ES module, which jest's module system does not load). Only
 * no-restricted-imports runs, without type information: fast, and nothing else can fire.
 */
function restrictedMessages(cases: Case[]): string[][] {
  const script = `
    import { ESLint } from 'eslint';
    const cases = JSON.parse(process.env.CASES);
    const eslint = new ESLint({
      cwd: process.cwd(),
      ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
      overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
    });
    const out = [];
    for (const c of cases) {
      const [r] = await eslint.lintText(c.code, { filePath: c.file });
      out.push(r.messages.map((m) => (m.ruleId ?? 'fatal') + ': ' + m.message));
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    env: {
      ...process.env,
      CASES: JSON.stringify(cases.map((c) => ({ ...c, file: join(ROOT, c.file) }))),
    },
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as string[][];
}

const fires: [string, Case, RegExp][] = [
  [
    'an app importing another app',
    {
      file: 'apps/uploader/src/x.ts',
      code: "import { W } from '../../compressor/src/segment-writer';",
    },
    /Apps never import each other/,
  ],
  [
    'an app spec importing another app',
    {
      file: 'apps/uploader/src/x.spec.ts',
      code: "import { S } from '../../splitter/src/split-batch';",
    },
    /Apps never import each other/,
  ],
  [
    'production code importing the test doubles',
    { file: 'apps/cli/src/x.ts', code: "import { OssTestServer } from '@logsplit/testing';" },
    /never imports test doubles/,
  ],
  [
    'a library importing e2e support',
    {
      file: 'libs/common/src/storage/x.ts',
      code: "import { p } from '../../../../test/support/pipeline';",
    },
    /never imports test code/,
  ],
  [
    'a script importing the bench',
    { file: 'scripts/x.ts', code: "import { startInfra } from '../bench/infra';" },
    /never imports test code/,
  ],
  [
    'a library reaching into another library by path',
    {
      file: 'libs/workload/src/x.ts',
      code: "import { m } from '../../common/src/util/mulberry32';",
    },
    /Import another library through its public entry/,
  ],
  [
    'a library importing an app',
    { file: 'libs/workload/src/x.ts', code: "import { s } from '../../../apps/cli/src/store';" },
    /never import an app/,
  ],
  [
    'an app importing a file of libs/common',
    {
      file: 'apps/splitter/src/x.ts',
      code: "import { m } from '@logsplit/common/util/mulberry32';",
    },
    /through its public entry \(@logsplit\/common or an area barrel/,
  ],
  [
    'a test importing a library by path',
    { file: 'test/x.e2e-spec.ts', code: "import { T } from '../libs/common/src/kafka/topics';" },
    /Import a library through its public entry/,
  ],
  [
    'the bench importing a file of a library without areas',
    { file: 'bench/x.ts', code: "import { f } from '@logsplit/kafkajs-patches/read-committed';" },
    /Import @logsplit\/kafkajs-patches through its public entry/,
  ],
];

const passes: [string, Case][] = [
  [
    'a file of the same app',
    { file: 'apps/uploader/src/x.ts', code: "import { u } from './upload-each';" },
  ],
  [
    'a spec using the test doubles',
    { file: 'apps/cli/src/x.spec.ts', code: "import { OssTestServer } from '@logsplit/testing';" },
  ],
  [
    'the test library importing libs/common',
    { file: 'libs/testing/src/x.ts', code: "import { m } from '@logsplit/common/util';" },
  ],
  [
    'an app importing libs/common',
    { file: 'apps/splitter/src/x.ts', code: "import { runService } from '@logsplit/common';" },
  ],
  [
    'a main installing the kafkajs patches',
    { file: 'apps/cli/src/main.ts', code: "import '@logsplit/kafkajs-patches/install';" },
  ],
  [
    'a file of the same library',
    { file: 'libs/common/src/storage/x.ts', code: "import { m } from '../util/mulberry32';" },
  ],
];

describe('import boundaries (eslint.config.mjs)', () => {
  const results = restrictedMessages([...fires.map(([, c]) => c), ...passes.map(([, c]) => c)]);

  it.each(fires.map(([what, c, why], i) => [what, c, why, i] as const))(
    'reports %s',
    (_what, _c, why, i) => {
      expect(results[i]).toEqual([expect.stringMatching(why)]);
      expect(results[i][0]).toMatch(/^no-restricted-imports: /);
    },
  );

  it.each(passes.map(([what, c], i) => [what, c, fires.length + i] as const))(
    'allows %s',
    (_what, _c, i) => {
      expect(results[i]).toEqual([]);
    },
  );
});
