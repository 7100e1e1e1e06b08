// The demo page served by mfa-server at `/`: sign in with a password, then
// whichever element the server's `next` step calls for.
import { ApiClient, MfaError, autofillSupported, describe, passkeysSupported, signInWithPasskey, siteFits } from './src/index.js';

const api = new ApiClient('/api/v1');
const $ = (id) => document.getElementById(id);
const sections = ['sign-in', 'step', 'home'];

function show(id, focus) {
  for (const s of sections) $(s).hidden = s !== id;
  if (focus) focus.focus();
}

function mount(tag, attrs = {}) {
  const el = document.createElement(tag);
  el.setAttribute('api', '/api/v1');
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  show('step');
  $('step').replaceChildren(el);
  return el;
}

/** Go where the server says this visitor is. */
async function route() {
  let s;
  try {
    s = await api.session();
  } catch (e) {
    if (e instanceof MfaError && e.status === 401) return signIn();
    $('sign-in-error').textContent = describe(e);
    $('sign-in-error').hidden = false;
    return show('sign-in');
  }
  $('sign-out').hidden = false;
  const next = (s.next && s.next.next) || 'continue';
  if (next === 'register' || next === 'reregister' || (next === 'replace' && s.mfa)) mount('mfa-enroll', { autofocus: '' });
  else if (next === 'verify' || next === 'replace' || next === 'locked' || next === 'locked_out') mount('mfa-verify', { autofocus: '' });
  else home(s);
}

function signIn() {
  $('sign-out').hidden = true;
  show('sign-in', $('user'));
  offerPasskeys();
}

// Passwordless sign-in: the site's passkeys are offered in the user-name
// field's autofill (conditional mediation) and behind "Sign in with a
// passkey". Each request has its own options and ceremony from the server,
// and is renewed when it expires.
let waiting = null;

function stopWaiting() {
  if (waiting) waiting.abort();
  waiting = null;
}

/** The options of a new passwordless request, or null where passkeys cannot be used here. */
async function passkeyStart() {
  if (!passkeysSupported()) return null;
  try {
    const start = await api.passwordlessOptions();
    return siteFits(start.options.rpId) ? start : null;
  } catch {
    return null;
  }
}

async function offerPasskeys() {
  stopWaiting();
  const stop = new AbortController();
  waiting = stop;
  const start = await passkeyStart();
  if (stop.signal.aborted) return;
  $('passkey-sign-in').hidden = !start;
  if (!start || !(await autofillSupported()) || stop.signal.aborted) return;
  // Renew the request a little before its ceremony expires.
  const renew = setTimeout(() => offerPasskeys(), Math.max(5, start.expires_at - Date.now() / 1000 - 10) * 1000);
  stop.signal.addEventListener('abort', () => clearTimeout(renew));
  try {
    const res = await signInWithPasskey(api, start, { conditional: true, signal: stop.signal });
    await signedInWithPasskey(res);
  } catch (e) {
    if (stop.signal.aborted) return;
    // Picked but refused: say why, and offer the passkeys again.
    if (e.code !== 'passkey_cancelled') passkeyFailed(e);
    setTimeout(() => { if (waiting === stop) offerPasskeys(); }, 1000);
  }
}

function passkeyFailed(e) {
  $('sign-in-error').textContent = describe(e);
  $('sign-in-error').hidden = false;
}

async function signedInWithPasskey(res) {
  stopWaiting();
  $('sign-in-error').hidden = true;
  $('passkey-note').textContent = '';
  $('user').value = '';
  $('password').value = '';
  $('sign-out').hidden = false;
  // "Stay signed in?" is asked as after any other sign-in.
  if (res.stay_signed_in === 'ask') mount('mfa-verify', { autofocus: '' });
  else await route();
}

$('passkey-button').addEventListener('click', async () => {
  stopWaiting();
  const stop = new AbortController();
  waiting = stop;
  $('sign-in-error').hidden = true;
  $('passkey-note').textContent = 'Follow your browser’s steps to use your passkey.';
  try {
    const start = await api.passwordlessOptions();
    await signedInWithPasskey(await signInWithPasskey(api, start, { signal: stop.signal }));
  } catch (e) {
    $('passkey-note').textContent = '';
    if (!stop.signal.aborted) {
      passkeyFailed(e);
      offerPasskeys();
    }
  }
});

function home(s) {
  $('home-title').textContent = `Welcome, ${s.user}`;
  document.getElementById('admin-link')?.remove();
  $('home-text').textContent = s.mfa
    ? 'You are signed in with multi-factor authentication.'
    : 'You are signed in. Multi-factor authentication is off for your account.';
  const widgets = $('home-widgets');
  widgets.replaceChildren();
  if (s.mfa && s.admin) {
    // An admin who came from the admin page goes back there.
    if (new URLSearchParams(location.search).get('return') === 'admin') {
      location.href = '/admin/';
      return;
    }
    const link = document.createElement('a');
    link.href = '/admin/';
    link.textContent = 'Admin portal';
    const p = document.createElement('p');
    p.append(link, ': manage users, service settings and the audit log.');
    $('home-text').after(p);
    p.id = 'admin-link';
  }
  if (s.mfa) {
    widgets.append(element('mfa-security-info'));
    if (s.app_passwords_allowed) widgets.append(element('mfa-app-passwords'));
  }
  show('home', $('home-title'));
}

function element(tag) {
  const el = document.createElement(tag);
  el.setAttribute('api', '/api/v1');
  return el;
}

$('sign-in-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  stopWaiting();
  const err = $('sign-in-error');
  err.hidden = true;
  try {
    const res = await api.request('POST', '/sign-in', { user: $('user').value, password: $('password').value });
    $('password').value = '';
    // A remembered device stands in for the second factor; "Stay signed in?" is still asked.
    if (res.remembered_device && res.stay_signed_in === 'ask') {
      $('sign-out').hidden = false;
      mount('mfa-verify', { autofocus: '' });
      return;
    }
    await route();
  } catch (e) {
    err.textContent = describe(e);
    err.hidden = false;
    $('password').focus();
    offerPasskeys();
  }
});

$('sign-out').addEventListener('click', async () => {
  await api.request('POST', '/sign-out').catch(() => {});
  $('step').replaceChildren();
  $('home-widgets').replaceChildren();
  signIn();
});

// The elements tell the page when their part is finished.
document.addEventListener('mfa-verified', () => route());
document.addEventListener('mfa-done', () => route());
document.addEventListener('mfa-signed-out', () => {
  $('step').replaceChildren();
  $('home-widgets').replaceChildren();
  signIn();
});
document.addEventListener('mfa-next', (ev) => {
  if (ev.detail.next !== 'locked' && ev.detail.next !== 'locked_out') route();
});

route();
