import {
  MAX_APP_ID_BYTES,
  mixedScripts,
  unsafeAppIdReason,
  type DlqReason,
  ConfigError,
  type AppIdSource,
  type LogsplitConfig,
} from '@logsplit/common';

export type RawHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/**
 * A raw record as the splitter reads it. kafkajs's KafkaMessage fits as it is, so the service
 * passes batches straight in; headers are optional because old message-set entries have none.
 */
export interface RawRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: RawHeaders;
  offset: string;
  /** Kafka timestamp in ms as a decimal string (kafkajs style). */
  timestamp: string;
}

export interface Rejection {
  ok: false;
  reason: DlqReason;
  /** Short, escaped, safe to put in a header and a log line. */
  detail: string;
}

/**
 * The id as the record carries it, not yet validated: bytes where the source has bytes, so
 * validateAppId can insist on strict UTF-8 instead of seeing U+FFFD after a lenient decode.
 */
export type ExtractResult = { ok: true; id: string | Buffer } | Rejection;
export type AppIdResult = { ok: true; id: string } | Rejection;

/** Finds a record's app id; validation is validateAppId's job, so every source gets the same floor. */
export interface AppIdExtractor {
  extract(record: RawRecord): ExtractResult;
}

export type AppIdConfig = LogsplitConfig['splitter']['appId'];

// Strict decoders: invalid UTF-8 throws instead of becoming U+FFFD. Ids keep a BOM (and then
// fail as a format character); JSON documents may start with one (RFC 8259 §8.1).
const idDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const jsonDecoder = new TextDecoder('utf-8', { fatal: true });

const reject = (reason: DlqReason, detail: string): Rejection => ({ ok: false, reason, detail });

/**
 * Reads a dot path from the record's value parsed as JSON. The whole value must be a JSON object,
 * which costs a full parse per record (to be optimised later). Accepted ids: strings, and safe
 * integers (converted with String, e.g. 42 → "42"); other numbers are rejected so two large ids
 * that JSON.parse rounds to one double never share an archive.
 */
class JsonPathExtractor implements AppIdExtractor {
  private readonly path: string[];

  constructor(private readonly jsonPath: string) {
    this.path = jsonPath.split('.');
  }

  extract(record: RawRecord): ExtractResult {
    let text: string;
    try {
      text = jsonDecoder.decode(record.value ?? undefined);
    } catch {
      return reject('invalid-json', 'value is not valid UTF-8');
    }
    let node: unknown;
    try {
      node = JSON.parse(text);
    } catch (e) {
      return reject('invalid-json', clip(e instanceof Error ? e.message : String(e), 120));
    }
    if (!isPlainObject(node))
      return reject('invalid-json', `value is ${kindOf(node)}, not a JSON object`);
    for (const name of this.path) {
      // Own properties only: a path like constructor.name must not read Object.prototype.
      if (!isPlainObject(node) || !Object.hasOwn(node, name)) {
        return reject('missing-app-id', `no ${clip(this.jsonPath)} in the JSON object`);
      }
      node = node[name];
    }
    if (typeof node === 'string') return { ok: true, id: node };
    if (typeof node === 'number' && Number.isSafeInteger(node))
      return { ok: true, id: String(node) };
    if (node === null) return reject('missing-app-id', `${clip(this.jsonPath)} is null`);
    const kind = typeof node === 'number' ? 'a number but not a safe integer' : kindOf(node);
    return reject('invalid-app-id', `${clip(this.jsonPath)} is ${kind}, not a string`);
  }
}

/** First value of one header (kafkajs groups repeated headers into an array). */
class HeaderExtractor implements AppIdExtractor {
  constructor(private readonly name: string) {}

  extract(record: RawRecord): ExtractResult {
    const h = record.headers;
    const v = h && Object.hasOwn(h, this.name) ? h[this.name] : undefined;
    const first = Array.isArray(v) ? v[0] : v;
    if (first === undefined) return reject('missing-app-id', `no header ${clip(this.name)}`);
    return { ok: true, id: first };
  }
}

class KeyExtractor implements AppIdExtractor {
  extract(record: RawRecord): ExtractResult {
    return record.key === null
      ? reject('missing-app-id', 'record has no key')
      : { ok: true, id: record.key };
  }
}

/**
 * Matches the value decoded as UTF-8; the group named `app` if the regex has one, else group 1.
 * The decode is lenient because a stray byte elsewhere in a plain-text line is no reason to reject
 * it; a bad byte inside the id arrives as U+FFFD, which the safety floor rejects.
 */
class RegexExtractor implements AppIdExtractor {
  private readonly re: RegExp;

  constructor(source: string) {
    this.re = compileOrThrow('LOGSPLIT_APP_ID_REGEX', source);
    if (new RegExp(`${source}|`, 'u').exec('')!.length < 2) {
      throw new ConfigError([
        'LOGSPLIT_APP_ID_REGEX: needs a capture group (or a group named app)',
      ]);
    }
  }

  extract(record: RawRecord): ExtractResult {
    const m = this.re.exec(record.value?.toString('utf8') ?? '');
    if (!m) return reject('missing-app-id', 'app id regex did not match');
    const id = m.groups && 'app' in m.groups ? m.groups.app : m[1];
    if (id === undefined)
      return reject('missing-app-id', 'app id regex matched without capturing an id');
    return { ok: true, id };
  }
}

// One line per source: a new source is one new class and one entry here.
const EXTRACTORS: Record<AppIdSource, (c: AppIdConfig) => AppIdExtractor> = {
  json: (c) => new JsonPathExtractor(c.jsonPath),
  header: (c) => new HeaderExtractor(c.header),
  key: () => new KeyExtractor(),
  regex: (c) => {
    if (!c.regex)
      throw new ConfigError(['LOGSPLIT_APP_ID_REGEX: required when LOGSPLIT_APP_ID_SOURCE=regex']);
    return new RegexExtractor(c.regex);
  },
};

/** Builds the configured extractor; throws ConfigError at start-up, never per record. */
export function createAppIdExtractor(config: AppIdConfig): AppIdExtractor {
  const make = EXTRACTORS[config.source];
  if (!make)
    throw new ConfigError([`LOGSPLIT_APP_ID_SOURCE: unknown source ${String(config.source)}`]);
  // Compiling the pattern here too makes a bad LOGSPLIT_APP_ID_PATTERN fail at start-up.
  compileAppIdPattern(config.pattern);
  return make(config);
}

const compiledPatterns = new Map<string, RegExp>();

/**
 * The operator's pattern as a full match (anchored whatever the operator wrote) in Unicode mode,
 * so \p{L} works and a multi-byte character counts as one. Memoised: patterns come from config.
 */
export function compileAppIdPattern(pattern: string): RegExp {
  let re = compiledPatterns.get(pattern);
  if (!re) {
    // Alone first: 'a)|(b' is invalid, yet valid once wrapped, and would then mean something else.
    compileOrThrow('LOGSPLIT_APP_ID_PATTERN', pattern);
    re = compileOrThrow('LOGSPLIT_APP_ID_PATTERN', `^(?:${pattern})$`);
    compiledPatterns.set(pattern, re);
  }
  return re;
}

// Beyond the shared floor: invisible/bidi format characters, line separators and unpaired
// surrogates (which UTF-8 cannot carry: the compressor would see U+FFFD and refuse the chunk).
const EXTRA_UNSAFE = /[\p{Cf}\p{Zl}\p{Zp}]|[\ud800-\udfff]/u;

/**
 * The operator's pattern AND a safety floor no pattern can loosen (isSafeAppId, shared with the
 * compressor and uploader, plus EXTRA_UNSAFE), because the id becomes a path component and an
 * object-key segment. Failure is always invalid-app-id; the detail echoes at most 64 characters.
 */
export function validateAppId(id: string | Buffer, pattern: string): AppIdResult {
  const bytes = typeof id === 'string' ? Buffer.byteLength(id, 'utf8') : id.length;
  if (bytes > MAX_APP_ID_BYTES) {
    const head = typeof id === 'string' ? id : id.subarray(0, 64).toString('utf8');
    return reject(
      'invalid-app-id',
      `longer than ${MAX_APP_ID_BYTES} bytes (${bytes}): "${clip(head)}"`,
    );
  }
  let s: string;
  if (typeof id === 'string') {
    s = id;
  } else {
    try {
      s = idDecoder.decode(id);
    } catch {
      const hex = id.subarray(0, 32).toString('hex');
      return reject('invalid-app-id', `not valid UTF-8 (bytes ${hex})`);
    }
  }
  const unsafe =
    unsafeAppIdReason(s) ??
    (EXTRA_UNSAFE.test(s)
      ? 'contains format, line-separator or unpaired surrogate characters'
      : undefined);
  if (unsafe) return reject('invalid-app-id', `${unsafe}: "${clip(s)}"`);
  const lookalike = unicodeLookalike(s);
  if (lookalike) return reject('invalid-app-id', `${lookalike}: "${clip(s)}"`);
  if (!compileAppIdPattern(pattern).test(s))
    return reject('invalid-app-id', `does not match the app id pattern: "${clip(s)}"`);
  return { ok: true, id: s };
}

/**
 * Two ids that render the same must not be two apps: a decomposed "é" (e + U+0301) would get a
 * directory beside the composed one (and the same one on macOS), and a Cyrillic "а" in a Latin
 * id passes for the real app. Rejected rather than normalised, so an id is never rewritten.
 */
function unicodeLookalike(s: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return undefined;
  if (s.normalize('NFC') !== s) return 'not in Unicode normalization form C (NFC)';
  const scripts = mixedScripts(s);
  return scripts ? `mixes scripts (${scripts.join(', ')})` : undefined;
}

function compileOrThrow(name: string, source: string): RegExp {
  try {
    return new RegExp(source, 'u');
  } catch (e) {
    throw new ConfigError([
      `${name}: not a valid Unicode (u flag) regular expression: ${(e as Error).message}`,
    ]);
  }
}

const ESCAPE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}"\\]/u;

/**
 * Hostile text made safe for a header or a log line: at most `max` code points, every control,
 * invisible or unpaired character (and quote, backslash) escaped, so a DLQ header cannot carry an
 * ANSI sequence, a line break or a 10 kB id.
 */
export function clip(text: string, max = 64): string {
  // Bounded work whatever the length: look at no more than 2 code units per kept code point.
  const chars = Array.from(text.length > 2 * max ? text.slice(0, 2 * max) : text);
  const kept = chars
    .slice(0, max)
    .map((c) => (ESCAPE.test(c) ? `\\u{${c.codePointAt(0)!.toString(16)}}` : c));
  return (
    kept.join('') + (chars.length > max || text.length > 2 * max ? `...(${text.length} chars)` : '')
  );
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
