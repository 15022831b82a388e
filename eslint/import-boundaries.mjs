// @ts-check
// Import boundaries of the monorepo, as no-restricted-imports settings per folder (eslint.config.mjs):
// - apps never import each other (what two share moves to a library);
// - production code (apps/*/src, libs/*/src, scripts; specs excepted) never imports test code:
//   libs/testing, test/, bench/;
// - everything outside a library imports it through its public entry: `@logsplit/<lib>`, an area
//   barrel of libs/common (`@logsplit/common/<area>`, the folder's index.ts) or an entry listed
//   in ENTRIES; never one of its files, never by path.
// ESLint applies one setting of a rule per file (the last matching block wins), so each block
// below carries every pattern that applies to its files.
import { readdirSync } from 'node:fs';

/**
 * Entries of a library besides its root (one folder level below `@logsplit/<lib>/`): a pattern
 * of what may follow `@logsplit/<lib>/`.
 */
const ENTRIES = {
  // The area barrels; and check-health alone, for the health probe that docker runs every few
  // seconds (the health barrel loads kafkajs and ioredis: 0.65 s instead of 0.24 s).
  common: '(?:[^/]+|health/check-health)$',
  // The side-effect entry: the first import of every main.
  'kafkajs-patches': 'install$',
};

/** @param {string} dir */
const dirs = (dir) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);

/** @param {string[]} names folder names: letters, digits and '-', nothing to escape */
const anyOf = (names) => `(?:${names.join('|')})`;

/**
 * @param {{ apps?: string[], libs?: string[] }} [layout] the folders of apps/ and libs/ (read
 *   from the working directory when not given)
 * @returns {import('eslint').Linter.Config[]}
 */
export function importBoundaries(layout = {}) {
  const apps = layout.apps ?? dirs('apps');
  const libs = layout.libs ?? dirs('libs');

  const publicEntry = libs.map((lib) => ({
    regex: `^@logsplit/${lib}/(?!${ENTRIES[lib] ?? '$^'})`,
    message:
      `Import @logsplit/${lib} through its public entry (@logsplit/${lib}` +
      (lib === 'common' ? ' or an area barrel @logsplit/common/<area>' : '') +
      '), not one of its files.',
  }));
  const libsByPath = [
    {
      regex: '^(?:\\.\\./)+libs/|^libs/',
      message: 'Import a library through its public entry (@logsplit/<lib>), not by path.',
    },
  ];
  /** @param {string} self */
  const otherLibsByPath = (self) => [
    {
      regex: `^(?:\\.\\./)+(?:libs/)?${anyOf(libs.filter((l) => l !== self))}/|^libs/`,
      message: 'Import another library through its public entry (@logsplit/<lib>), not by path.',
    },
  ];
  /** @param {string} self */
  const otherApps = (self) => [
    {
      regex: `^(?:\\.\\./)+(?:apps/)?${anyOf(apps.filter((a) => a !== self))}(?:/|$)|^apps/`,
      message: 'Apps never import each other: move what two apps share to a library.',
    },
  ];
  const appsByPath = [
    {
      regex: '^(?:\\.\\./)+apps/|^apps/',
      message: 'Libraries and scripts never import an app: move what they share to a library.',
    },
  ];
  const testCode = {
    paths: [
      {
        name: '@logsplit/testing',
        message: 'Production code never imports test doubles (@logsplit/testing).',
      },
    ],
    patterns: [
      {
        regex: '^(?:\\.\\./)+(?:test|bench|(?:libs/)?testing)(?:/|$)|^(?:test|bench)/',
        message: 'Production code never imports test code (test/, bench/, libs/testing).',
      },
    ],
  };

  /**
   * @param {string[]} files
   * @param {string[]} ignores
   * @param {{ regex: string, message: string }[]} patterns
   * @param {boolean} production
   * @returns {import('eslint').Linter.Config}
   */
  const block = (files, ignores, patterns, production) => ({
    files,
    ignores,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: production ? testCode.paths : [],
          patterns: [...patterns, ...(production ? testCode.patterns : [])],
        },
      ],
    },
  });
  const spec = ['**/*.spec.ts'];
  return [
    block(['test/**/*.ts', 'bench/**/*.ts'], [], [...libsByPath, ...publicEntry], false),
    block(['scripts/**/*.ts'], [], [...libsByPath, ...publicEntry, ...appsByPath], true),
    ...apps.flatMap((app) => {
      const patterns = [...otherApps(app), ...libsByPath, ...publicEntry];
      return [
        block([`apps/${app}/**/*.ts`], spec, patterns, true),
        block([`apps/${app}/**/*.spec.ts`], [], patterns, false),
      ];
    }),
    ...libs.flatMap((lib) => {
      const patterns = [...otherLibsByPath(lib), ...appsByPath, ...publicEntry];
      return [
        block([`libs/${lib}/**/*.ts`], spec, patterns, lib !== 'testing'),
        block([`libs/${lib}/**/*.spec.ts`], [], patterns, false),
      ];
    }),
  ];
}
