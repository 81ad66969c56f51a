/**
 * What the page tells the user when the API refuses it (docs/api.md, Auth): the server's own
 * words, and what to do. Pure: the HTTP status, Content-Type and body text in, a message out.
 */

export type FailureKind = 'credentials' | 'permission' | 'unavailable' | 'other';

export interface Failure {
  kind: FailureKind;
  /** One sentence for people. */
  message: string;
}

/** Bound on how much of a server's text the page shows. */
const SERVER_TEXT_CHARS_MAX = 200;

export function explainFailure(status: number, contentType: string, body: string): Failure {
  const text = body.trim().slice(0, SERVER_TEXT_CHARS_MAX);
  let code = '';
  let msg = text;
  if (contentType.startsWith('application/json')) {
    try {
      const parsed = JSON.parse(body) as { code?: unknown; msg?: unknown };
      code = typeof parsed.code === 'string' ? parsed.code : '';
      msg = typeof parsed.msg === 'string' ? parsed.msg.slice(0, SERVER_TEXT_CHARS_MAX) : text;
    } catch {
      // not JSON after all: keep the text
    }
  }
  if (status === 401 && code === 'unauthenticated') {
    return {
      kind: 'permission',
      message: `The node accepted the token but refused the request (${msg}): the dashboard needs the roomList grant.`,
    };
  }
  if (status === 401) {
    return {
      kind: 'credentials',
      message: `The node refused the credentials: ${msg || 'unauthorized'}. Check the API key and secret, or the token.`,
    };
  }
  if (status === 503 || status === 429) {
    return { kind: 'unavailable', message: `The node is busy or not ready (${status}): ${msg}` };
  }
  return { kind: 'other', message: `The node answered ${status}${msg ? `: ${msg}` : ''}` };
}
