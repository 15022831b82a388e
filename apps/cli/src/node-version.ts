/** The oldest Node.js logsplit runs on: zstd arrived in node:zlib in 22.15. */
const MIN = { major: 22, minor: 15 };

/**
 * Why this Node.js cannot run logsplit, or undefined when it can. The same words as bin/logsplit:
 * on an older node the codecs would fail later with an unhelpful ERR_INVALID_ARG_TYPE.
 */
export function nodeTooOld(version: string = process.versions.node): string | undefined {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  if (major > MIN.major || (major === MIN.major && minor >= MIN.minor)) return undefined;
  return (
    `logsplit: needs Node.js >= ${MIN.major}.${MIN.minor} (for zstd in node:zlib); found: v${version.replace(/^v/, '')}.\n` +
    '  Run `npm start` or `npm test` once in the checkout: they install Node 24 into .cache/node,\n' +
    '  which bin/logsplit then uses. Or install Node.js 22.15 or newer (https://nodejs.org).\n'
  );
}
