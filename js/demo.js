// The demo page served by mfa-server at `/`: sign in with a password, then
// whichever element the server's `next` step calls for.
import { ApiClient, MfaError, describe } from './src/index.js';

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
}

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
