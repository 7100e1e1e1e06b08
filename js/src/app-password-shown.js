// The one screen where an app password exists in the clear: grouped for
// reading, copied without separators, the warning that it is shown only
// this once, and forgotten when the person moves on. Used by
// <mfa-app-passwords> (Create) and by the end of "Set it up now".
import { h, field, copyButton, button } from './dom.js';
import { t } from './messages.js';

/**
 * Show `res` (the server's answer to a create) in `el`, an MfaElement.
 * `intro` is the text above the password; `onDone()` runs after "Done"
 * with the password already wiped from the page.
 */
export async function showAppPassword(el, res, { title, intro, onDone }) {
  el.emit('mfa-app-password-created', { id: res.id, name: res.name, createdAt: res.created_at });
  const pw = field(t('ap_password'), { type: 'text', readonly: true, class: 'mfa-input mfa-secret', spellcheck: 'false', autocomplete: 'off' });
  // Shown as the server sent it if the engine cannot format it: this is the
  // only time the password exists.
  let secret = res.password;
  pw.input.value = res.password;
  try {
    const mfa = await el.engine();
    secret = mfa.formatAppPassword(res.password, '');
    pw.input.value = mfa.formatAppPassword(res.password, ' ');
  } catch {
    // keep the server's form
  }
  pw.input.addEventListener('focus', () => pw.input.select());
  const done = button(t('ap_done'), () => {
    secret = '';
    pw.input.value = '';
    el.takeFocus();
    onDone();
  }, { primary: true });
  const notes = [];
  if (res.expires_at) notes.push(h('p', { class: 'mfa-muted' }, t('ap_expires_note', { time: formatDay(res.expires_at) })));
  if (res.scopes && res.scopes.length) notes.push(h('p', { class: 'mfa-muted' }, t('ap_scopes_note', { scopes: res.scopes.join(', ') })));
  el.view(title, [
    h('p', {}, intro),
    h('div', { class: 'mfa-secret-row' }, pw.wrap, copyButton(t('copy'), () => secret, (m) => el.say(m))),
    notes,
    h('p', { class: 'mfa-warning', role: 'note' }, h('strong', {}, t('ap_warning'))),
    h('div', { class: 'mfa-actions' }, done),
  ], { focus: pw.input });
  el.say(`${title}. ${t('ap_warning')}`);
}

/** A Unix time as a local date, e.g. "31 Dec 2027". */
export function formatDay(secs) {
  return new Date(secs * 1000).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}
