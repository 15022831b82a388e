/** Longest app id in bytes: it becomes a directory name and an object-key segment. */
export const MAX_APP_ID_BYTES = 128;

// Device names Windows resolves in every directory, with or without an extension ("nul.log"):
// a spool on an SMB share would open the device instead of a directory.
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
const WHITESPACE = /\p{White_Space}/u;

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
  // Windows and SMB shares drop a trailing dot, so "app." and "app" would share a directory.
  if (id.endsWith('.')) return 'must not end with a dot';
  // Trailing blanks vanish the same way, and any blank splits the id in shell commands.
  if (WHITESPACE.test(id)) return 'contains whitespace';
  if (WINDOWS_DEVICE.test(id)) return 'is a reserved device name on Windows';
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
