import { CredentialsError } from './credentials';

export interface HttpJsonRequest {
  method: 'GET' | 'PUT' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/**
 * One HTTP request to a credentials endpoint, its answer's text. Network failures, timeouts and
 * non-2xx answers become CredentialsError naming `setting` and the URL (never the answer's
 * body on success: it holds the secret).
 */
export async function httpText(setting: string, req: HttpJsonRequest): Promise<string> {
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(req.timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    const why = cause?.code ?? (err as Error).name ?? String(err);
    throw new CredentialsError(setting, `${req.url} unreachable (${why})`, { cause: err });
  }
  const text = await res.text();
  if (!res.ok) {
    throw new CredentialsError(
      setting,
      `${req.method} ${req.url} answered HTTP ${res.status}${errorCode(text)}`,
    );
  }
  return text;
}

export async function httpJson(
  setting: string,
  req: HttpJsonRequest,
): Promise<Record<string, unknown>> {
  const text = await httpText(setting, req);
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new CredentialsError(setting, `${req.url} answered something that is not a JSON object`);
}

/** ' (Code: Message)' of an Alibaba Cloud JSON error answer, or ''. */
function errorCode(text: string): string {
  try {
    const e = JSON.parse(text) as { Code?: unknown; Message?: unknown };
    if (typeof e.Code === 'string') {
      return ` (${e.Code}${typeof e.Message === 'string' ? `: ${e.Message.slice(0, 200)}` : ''})`;
    }
  } catch {
    // not JSON
  }
  return '';
}
