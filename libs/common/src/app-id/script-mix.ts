// Scripts told apart when checking an id for mixed-script spoofing; a letter of any other script
// counts as "Other". Common (digits, punctuation) and Inherited (combining marks) go with any.
const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Devanagari',
  'Thai',
  'Georgian',
  'Han',
  'Hiragana',
  'Katakana',
  'Hangul',
  'Bopomofo',
] as const;
const SCRIPT_RES = SCRIPTS.map((name) => ({ name, re: new RegExp(`\\p{Script=${name}}`, 'u') }));
const NEUTRAL = /[\p{Script=Common}\p{Script=Inherited}]/u;

// Mixes that are one writing system (UTS #39 "highly restrictive"): Japanese, Chinese, Korean,
// each also with Latin.
const ALLOWED_MIXES: ReadonlySet<string>[] = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

/**
 * The scripts of an id when they mix in a way one writing system does not, e.g. Latin with a
 * Cyrillic "а" ("pаypal"), the classic look-alike; undefined when the id is fine. Look-alikes
 * written wholly in one other script are not caught: the default ASCII pattern is the defence.
 */
export function mixedScripts(id: string): string[] | undefined {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(id)) return undefined;
  const found = new Set<string>();
  for (const ch of id) {
    if (NEUTRAL.test(ch)) continue;
    found.add(SCRIPT_RES.find((s) => s.re.test(ch))?.name ?? 'Other');
  }
  if (found.size <= 1) return undefined;
  if (!found.has('Other') && ALLOWED_MIXES.some((mix) => [...found].every((s) => mix.has(s))))
    return undefined;
  return [...found];
}
