// The server's API (`/api/v1`), as the widget uses it. Every failure becomes
// an `MfaError` with the server's stable code, so the elements can say in
// plain words what happened and what to do.

/** An error the widget can explain: a server error code, `network` or `engine`. */
export class MfaError extends Error {
  /**
   * @param {string} code stable code (`wrong_code`, `locked`, `network`, …)
   * @param {string} message the server's or engine's own message
   * @param {{status?: number, retryAfter?: number|null, clockOffset?: number|null, check?: string|null}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message);
    this.name = 'MfaError';
    this.code = code;
    this.status = extra.status || 0;
    this.retryAfter = extra.retryAfter ?? null;
    // `clock_drift`: seconds the phone's clock is off (negative: behind).
    this.clockOffset = extra.clockOffset ?? null;
    // `passkey_refused`: the engine's check that failed (`origin_not_allowed`, …).
    this.check = extra.check ?? null;
    // When a wait ends, computed once so every reader agrees.
    this.until = this.retryAfter == null ? null : Date.now() + this.retryAfter * 1000;
  }
}

/** Turn an error thrown by the wasm engine (`code: message`) into an `MfaError`. */
export function engineError(e) {
  const text = String((e && e.message) || e);
  const at = text.indexOf(': ');
  return at > 0 && /^[a-z_]+$/.test(text.slice(0, at))
    ? new MfaError(text.slice(0, at), text.slice(at + 2))
    : new MfaError('engine', text);
}

/** A small client of the reference server's API; cookies carry the sign-in. */
export class ApiClient {
  /** @param {string} base the API root, e.g. `/api/v1` or `https://mfa.example.com/api/v1` */
  constructor(base) {
    this.base = String(base || '/api/v1').replace(/\/+$/, '');
  }

  async request(method, path, body) {
    // The server takes every POST and PUT as JSON only (a page on another
    // site cannot send JSON without asking first): `{}` when there is nothing to send.
    if (body === undefined && (method === 'POST' || method === 'PUT')) body = {};
    const init = { method, credentials: 'include', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(this.base + path, init);
    } catch (e) {
      throw new MfaError('network', String((e && e.message) || e));
    }
    let data = null;
    if (res.status !== 204) {
      try {
        data = await res.json();
      } catch {
        data = null;
      }
    }
    if (res.ok) return data;
    const err = (data && data.error) || {};
    const header = Number(res.headers.get('Retry-After'));
    const retryAfter = err.retry_after ?? (header > 0 ? header : null);
    const code = err.code || (res.status >= 500 ? 'server' : `http_${res.status}`);
    throw new MfaError(code, err.message || res.statusText || `HTTP ${res.status}`, {
      status: res.status,
      retryAfter,
      clockOffset: err.clock_offset_secs ?? null,
      check: err.check ?? null,
    });
  }

  session() { return this.request('GET', '/session'); }
  methods() { return this.request('GET', '/methods'); }
  beginAuthenticator(account) {
    return this.request('POST', '/methods/authenticator', account ? { account } : {});
  }
  beginPhone(countryCode, number, channel) {
    return this.request('POST', '/methods/phone', { country_code: countryCode, number, channel });
  }
  /** Change the phone `methodId` to another number or channel; the old one goes once the new one is confirmed. */
  changePhone(methodId, countryCode, number, channel) {
    return this.request('POST', `/methods/${encodeURIComponent(methodId)}/phone`, { country_code: countryCode, number, channel });
  }
  beginEmail(address) { return this.request('POST', '/methods/email', { address }); }
  /** Start registering a passkey: `{type: 'passkey', options, expires_at}`. */
  beginPasskey() { return this.request('POST', '/methods/passkey', {}); }
  /** Finish it with the browser's answer (`PublicKeyCredential.toJSON()`) and the name the person gave it. */
  confirmPasskey(response, name, remember) {
    return this.request('POST', '/methods/passkey/confirm', { response, name: name || '', remember_device: !!remember });
  }
  /** The options of a sign-in with one of the user's passkeys. */
  passkeyOptions() { return this.request('POST', '/verify/passkey/options', {}); }
  verifyPasskey(response, remember) {
    return this.request('POST', '/verify/passkey', { response, remember_device: !!remember });
  }
  /** Start a passwordless sign-in: `{options, expires_at, ceremony}`, any of the site's passkeys may answer. */
  passwordlessOptions() { return this.request('POST', '/sign-in/passkey/options', {}); }
  /** Finish it with the ceremony and the browser's answer: the session cookies are set. */
  passwordlessSignIn(ceremony, response, remember) {
    return this.request('POST', '/sign-in/passkey', { ceremony, response, remember_device: !!remember });
  }
  resend() { return this.request('POST', '/methods/resend', {}); }
  confirm(code) { return this.request('POST', '/methods/confirm', { code }); }
  sendCode(methodId) { return this.request('POST', '/verify/send', { method_id: methodId }); }
  verify(code, methodId, remember) {
    return this.request('POST', '/verify', { method_id: methodId, code, remember_device: !!remember });
  }
  verifyOneTimePass(pass) {
    return this.request('POST', '/verify/one-time-pass', { pass });
  }

  verifyRecovery(code, remember) {
    return this.request('POST', '/verify/recovery', { code, remember_device: !!remember });
  }
  /** "Stay signed in?": keep the session cookie after the browser closes (`stay`), and remember the answer. */
  staySignedIn(stay, dontShowAgain) {
    return this.request('POST', '/session/stay-signed-in', { stay: !!stay, dont_show_again: !!dontShowAgain });
  }
  setDefault(methodId) { return this.request('PUT', '/methods/default', { method_id: methodId }); }
  removeMethod(methodId) { return this.request('DELETE', `/methods/${encodeURIComponent(methodId)}`); }
  regenerateRecoveryCodes() { return this.request('POST', '/recovery-codes', {}); }
  signOutEverywhere() { return this.request('POST', '/sign-out-everywhere', {}); }
  appPasswords() { return this.request('GET', '/app-passwords'); }
  createAppPassword(name, scopes, expiresAt) {
    const body = { name };
    if (scopes && scopes.length) body.scopes = scopes;
    if (expiresAt) body.expires_at = expiresAt;
    return this.request('POST', '/app-passwords', body);
  }
  deleteAppPassword(id) {
    return this.request('DELETE', `/app-passwords/${encodeURIComponent(id)}`);
  }
}
