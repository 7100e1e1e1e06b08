// Passkeys and security keys in the browser: the options the server's engine
// wrote (`PublicKeyCredentialCreationOptionsJSON` / `…RequestOptionsJSON`)
// handed to `navigator.credentials`, and the browser's answer sent back as
// `PublicKeyCredential.toJSON()`. Nothing is checked here: the challenge,
// the origin, the signature and the counter are the engine's to verify. A
// browser refusal becomes an `MfaError` a person can act on.
import { MfaError } from './api.js';
import { button } from './dom.js';
import { t } from './messages.js';

/**
 * Run a browser ceremony with `note` shown ("follow your browser's steps")
 * and a Cancel button beside it that stops the request; resolves as `run`.
 */
export async function withCancel(note, say, run) {
  const stop = new AbortController();
  const cancel = button(t('cancel'), () => stop.abort());
  note.append(' ', cancel);
  note.hidden = false;
  say(note.firstChild ? note.firstChild.textContent : '');
  try {
    return await run(stop.signal);
  } finally {
    cancel.remove();
    note.hidden = true;
  }
}

/** Whether this browser can use passkeys at all (a secure context with WebAuthn). */
export function passkeysSupported() {
  return typeof window !== 'undefined' && !!window.PublicKeyCredential && !!navigator.credentials && window.isSecureContext !== false;
}

/** Whether the browser offers passkeys in a field's autofill (conditional mediation). */
export async function autofillSupported() {
  if (!passkeysSupported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') return false;
  try {
    return await PublicKeyCredential.isConditionalMediationAvailable();
  } catch {
    return false;
  }
}

/** Register a new credential; resolves with its JSON form for the server. */
export async function createPasskey(options, signal) {
  let cred;
  try {
    cred = await navigator.credentials.create({ publicKey: creationOptions(options), signal });
  } catch (e) {
    throw ceremonyError(e, 'create');
  }
  if (!cred) throw new MfaError('passkey_cancelled', 'no credential was created');
  return credentialJSON(cred);
}

/** Sign with a registered credential; `mediation: 'conditional'` waits for the autofill. */
export async function getPasskey(options, { signal, mediation } = {}) {
  let cred;
  try {
    const req = { publicKey: requestOptions(options), signal };
    if (mediation) req.mediation = mediation;
    cred = await navigator.credentials.get(req);
  } catch (e) {
    throw ceremonyError(e, 'get');
  }
  if (!cred) throw new MfaError('passkey_cancelled', 'no passkey was chosen');
  return credentialJSON(cred);
}

/**
 * Sign in with one of the site's passkeys, without a user name or password.
 * `start` is `api.passwordlessOptions()`'s answer; with `conditional` the
 * request waits for the person to pick a passkey in the autofill of a field
 * marked `autocomplete="username webauthn"`. Resolves with the server's
 * answer (`{user, next, stay_signed_in}`); the session cookies are set.
 */
export async function signInWithPasskey(api, start, { conditional = false, signal } = {}) {
  const response = await getPasskey(start.options, { signal, mediation: conditional ? 'conditional' : undefined });
  return api.passwordlessSignIn(start.ceremony, response);
}

/** Whether passkeys of the relying party `rpId` can be used on this page's address. */
export function siteFits(rpId) {
  const host = location.hostname;
  return !!rpId && (host === rpId || host.endsWith(`.${rpId}`));
}

function creationOptions(o) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(o);
  }
  return {
    ...o,
    challenge: decode(o.challenge),
    user: { ...o.user, id: decode(o.user.id) },
    excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: decode(c.id) })),
  };
}

function requestOptions(o) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(o);
  }
  return {
    ...o,
    challenge: decode(o.challenge),
    allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: decode(c.id) })),
  };
}

/** `PublicKeyCredential.toJSON()`, written out where the browser lacks it. */
function credentialJSON(cred) {
  if (typeof cred.toJSON === 'function') return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = encode(r.attestationObject);
    if (typeof r.getTransports === 'function') response.transports = r.getTransports();
  } else {
    response.authenticatorData = encode(r.authenticatorData);
    response.signature = encode(r.signature);
    if (r.userHandle) response.userHandle = encode(r.userHandle);
  }
  return {
    id: cred.id,
    rawId: encode(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: typeof cred.getClientExtensionResults === 'function' ? cred.getClientExtensionResults() : {},
    response,
  };
}

/**
 * What the browser's refusal means to a person. `NotAllowedError` is how
 * browsers report a cancel, a time-out and "no key of this site" alike.
 */
function ceremonyError(e, op) {
  if (e instanceof MfaError) return e;
  const name = (e && e.name) || '';
  const text = String((e && e.message) || e);
  if (name === 'InvalidStateError' && op === 'create') return new MfaError('passkey_already_registered', text);
  if (name === 'NotAllowedError' || name === 'AbortError') return new MfaError('passkey_cancelled', text);
  if (name === 'SecurityError') return new MfaError('passkey_wrong_site', text);
  if (name === 'NotSupportedError') return new MfaError('passkey_unsupported', text);
  return new MfaError('passkey_failed', text);
}

function decode(s) {
  const b = atob(String(s).replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((String(s).length + 3) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out.buffer;
}

function encode(buf) {
  const bytes = new Uint8Array(buf);
  let s = '';
  for (const x of bytes) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
