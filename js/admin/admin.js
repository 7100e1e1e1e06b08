// The demo's admin page (`/admin/`): the three admin elements as tabs, for a
// signed-in user with the admin role. Everything else is the server's say:
// without an MFA session or the role, the page sends the person to sign in.
import { AdminClient, MfaError, describe } from '../src/admin/index.js';

const api = new AdminClient('/api/v1');
const $ = (id) => document.getElementById(id);
const TABS = { users: 'mfa-admin-users', settings: 'mfa-admin-settings', audit: 'mfa-admin-audit' };

function gate(text, link = true) {
  $('portal').hidden = true;
  $('gate').hidden = false;
  $('gate-text').textContent = text;
  $('gate-link').hidden = !link;
  $('gate-title').focus();
}

/** Show one tab; its element is made the first time and kept after. */
function select(name, focus = false) {
  for (const key of Object.keys(TABS)) {
    const on = key === name;
    const tab = $(`tab-${key}`);
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    const panel = $(`panel-${key}`);
    panel.hidden = !on;
    if (on && !panel.firstElementChild) {
      const el = document.createElement(TABS[key]);
      el.setAttribute('api', '/api/v1');
      panel.append(el);
    } else if (on && key === 'audit') {
      // Newest events each time the log is opened.
      panel.firstElementChild.refresh();
    }
  }
  if (focus) $(`tab-${name}`).focus();
  history.replaceState(null, '', `#${name}`);
}

async function start() {
  let s;
  try {
    s = await api.session();
  } catch (e) {
    if (e instanceof MfaError && e.status === 401) return gate('Sign in with an admin account and your second method to manage users.');
    return gate(describe(e), false);
  }
  $('sign-out').hidden = false;
  if (!s.mfa) return gate('Finish signing in with your second method first.');
  if (!s.admin) return gate(`${s.user} isn’t an admin. Sign in with an admin account, or ask an admin to give yours the admin role.`, false);
  $('gate').hidden = true;
  $('portal').hidden = false;
  const first = (location.hash || '#users').slice(1);
  select(first in TABS ? first : 'users');
}

const order = Object.keys(TABS);
for (const key of order) {
  const tab = $(`tab-${key}`);
  tab.addEventListener('click', () => select(key, true));
  tab.addEventListener('keydown', (ev) => {
    const at = order.indexOf(key);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: order.length - 1 }[ev.key];
    if (to == null) return;
    ev.preventDefault();
    select(order[(to + order.length) % order.length], true);
  });
}

$('sign-out').addEventListener('click', async () => {
  await api.request('POST', '/sign-out').catch(() => {});
  location.href = '../';
});

// A refusal inside an element (the role was taken, the session ended): back to the gate.
document.addEventListener('mfa-error', (ev) => {
  if (['token_revoked', 'not_signed_in', 'admin_token', 'not_admin'].includes(ev.detail.code)) start();
});

start();
