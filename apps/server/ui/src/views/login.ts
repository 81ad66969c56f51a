/**
 * Sign-in (docs/dashboard.md, Auth): an API key and secret, from which the page signs its own
 * short tokens with WebCrypto, or a token pasted as is. A node in `--dev` mode with the
 * development keys fills in `devkey` / `secret`. The credentials are checked with one
 * `/v1/status` before the dashboard opens, and the server's refusal is shown as it said it.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Credentials, NetworkError, openGet, Session } from '../api.js';
import { html } from '../html.js';
import { TokenFormatError } from '../jwt.js';

/** The public development credentials (`--dev`, apps/server/src/config.ts DEV_KEYS). */
export const DEV_API_KEY = 'devkey';
export const DEV_API_SECRET = 'secret';

type Mode = 'secret' | 'token';

export interface LoginProps {
  onSession: (session: Session) => void;
  /** Why the previous session ended, if it did. */
  notice: string | undefined;
}

export function Login({ onSession, notice }: LoginProps) {
  const canSign = globalThis.crypto?.subtle !== undefined;
  const [mode, setMode] = useState<Mode>(canSign ? 'secret' : 'token');
  const [apiKey, setApiKey] = useState('');
  const [secret, setSecret] = useState('');
  const [token, setToken] = useState('');
  const [dev, setDev] = useState(false);
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    openGet('ui/config.json')
      .then(({ body }) => {
        const config = body as { devCredentials?: unknown } | null;
        if (config?.devCredentials === true) {
          setDev(true);
          setApiKey((k) => k || DEV_API_KEY);
          setSecret((s) => s || DEV_API_SECRET);
        }
      })
      .catch(() => undefined);
  }, []);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    let credentials: Credentials;
    if (mode === 'secret') {
      if (apiKey.trim() === '' || secret === '') {
        setError('Give both the API key and its secret.');
        return;
      }
      credentials = { kind: 'secret', apiKey: apiKey.trim(), secret };
    } else {
      if (token.trim() === '') {
        setError('Paste a token (roomring token --list prints one).');
        return;
      }
      credentials = { kind: 'token', token: token.trim() };
    }
    setBusy(true);
    try {
      const session = new Session(credentials);
      await session.get('v1/status');
      setSecret('');
      setToken('');
      onSession(session);
    } catch (e) {
      if (e instanceof ApiError || e instanceof NetworkError || e instanceof TokenFormatError) {
        setError(e.message);
      } else {
        setError(`Could not sign in: ${(e as Error).message}`);
      }
    } finally {
      setBusy(false);
    }
  };

  return html`
    <section class="login">
      <h1><span class="logo" aria-hidden="true"></span> roomring</h1>
      <p class="muted">
        Sign in to this node's admin API. The secret stays in this page: it signs short tokens
        here, only tokens are sent, and nothing is stored.
      </p>
      <div class="tabs small" role="tablist">
        <button type="button" role="tab" aria-selected=${mode === 'secret'} disabled=${!canSign}
          onClick=${() => setMode('secret')}>API key and secret</button>
        <button type="button" role="tab" aria-selected=${mode === 'token'}
          onClick=${() => setMode('token')}>Token</button>
      </div>
      ${!canSign ? html`<p class="warn">This page is not a secure context (https, or http on 127.0.0.1/localhost), so it cannot sign: paste a token.</p>` : null}
      <form onSubmit=${submit}>
        ${
          mode === 'secret'
            ? html`
              <label>API key
                <input name="apiKey" autocomplete="username" value=${apiKey}
                  onInput=${(e: Event) => setApiKey((e.target as HTMLInputElement).value)} />
              </label>
              <label>Secret
                <input name="secret" type="password" autocomplete="current-password" value=${secret}
                  onInput=${(e: Event) => setSecret((e.target as HTMLInputElement).value)} />
              </label>`
            : html`
              <label>Token (a LiveKit access token with the roomList grant)
                <textarea name="token" rows="4" spellcheck="false" value=${token}
                  onInput=${(e: Event) => setToken((e.target as HTMLTextAreaElement).value)}></textarea>
              </label>`
        }
        ${dev ? html`<p class="muted">Development mode: the public development key is filled in.</p>` : null}
        ${error ? html`<p class="error" role="alert" data-testid="login-error">${error}</p>` : null}
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Checking…' : 'Sign in'}</button>
      </form>
    </section>
  `;
}
