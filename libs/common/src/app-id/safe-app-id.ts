/** Longest app id in bytes: it becomes a directory name and an object-key segment. */
export const MAX_APP_ID_BYTES = 128;

/**
 * Why an id cannot be used as a path component or key segment, whatever pattern the operator
 * configured; undefined when it is safe. These checks are the floor under every pattern.
 */
export function unsafeAppIdReason(id: string): string | undefined {
  if (id.length === 0) return 'empty';
  if (Buffer.byteLength(id, 'utf8') > MAX_APP_ID_BYTES)
    return `longer than ${MAX_APP_ID_BYTES} bytes`;
  if (id.includes('/') || id.includes('\\')) return 'contains a path separator';
  if (id === '.' || id === '..' || id.includes('..')) return 'contains a relative path (. or ..)';
  if (hasControlChars(id)) return 'contains control characters';
  if (id.includes('\ufffd')) return 'contains invalid UTF-8';
  if (id.startsWith('_') || id.startsWith('.') || id.startsWith('-'))
    return 'must start with a letter or digit';
  return undefined;
}

export function isSafeAppId(id: string): boolean {
  return unsafeAppIdReason(id) === undefined;
}

/** C0 and C1 control characters, DEL included: they corrupt terminals, logs and file names. */
function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
