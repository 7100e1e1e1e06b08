// One user as an admin sees them in <mfa-admin-users>: status and role,
// what the next sign-in asks, registered methods, app passwords by name with
// last use, locks, recent events; and the actions for this user (status,
// unlock, the seed-004 settings, reset, a one-time pass shown once, the
// admin role). Nothing secret is shown except the new one-time pass, once.
import { form } from '../element.js';
import { h, uid, button, copyButton } from '../dom.js';
import { t, formatTime } from '../messages.js';
import { describeMethod } from '../method-name.js';
import { eventName } from './messages.js';

const STATES = ['disabled', 'enabled', 'enforced'];
const ACTIONS = ['unlock', 'require-reregistration', 'delete-app-passwords', 'restore-remembered-devices'];

/** Show `user` in `el`; `back()` returns to the list. */
export async function showUser(el, user, back, notice = null) {
  const [u, log] = await Promise.all([el.client.user(user), el.client.audit({ user, limit: 10 })]);
  const again = (text) => {
    el.takeFocus();
    return showUser(el, user, back, text).then(() => el.say(text));
  };
  const content = [];
  content.push(h('div', { class: 'mfa-actions' }, button(t('ad_back'), back)));
  if (notice) content.push(h('p', { class: 'mfa-confirm' }, notice));
  content.push(summary(u));
  content.push(methods(u), appPasswords(u), events(log.entries || []));
  content.push(actions(el, u, again));
  el.view(u.user, content);
}

function summary(u) {
  const next = (u.next && u.next.next) || 'continue';
  const nextText = { register: 'ad_next_register', reregister: 'ad_next_register', verify: 'ad_next_verify', replace: 'ad_next_verify', locked: 'ad_next_locked', locked_out: 'ad_next_locked' }[next] || 'ad_next_continue';
  const locks = (u.locked || []).map((l) => t('ad_locked_until', { factor: String(l.factor).replace(/_/g, ' '), time: formatTime(l.until) }));
  const rows = [
    [t('ad_status'), t(`state_${u.state}`)],
    [t('ad_role'), t(u.admin ? 'ad_role_admin' : 'ad_role_user')],
    [t('ad_next'), t(nextText)],
    [t('ad_recovery_left'), String(u.recovery_codes_left ?? 0)],
    [t('ad_locks'), locks.length ? locks.join('; ') : t('ad_no_locks')],
  ];
  const dl = h('dl', { class: 'mfa-summary' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  const extra = [];
  if (u.locked_out) extra.push(h('p', { class: 'mfa-warning' }, t('ad_locked_out')));
  if (u.one_time_pass_until) extra.push(h('p', { class: 'mfa-note' }, t('ad_pass_until', { time: formatTime(u.one_time_pass_until) })));
  return section(t('ad_summary'), [dl, extra]);
}

function methods(u) {
  const list = u.methods || [];
  if (!list.length) return section(t('ad_methods'), h('p', { class: 'mfa-muted' }, t('ad_no_methods')));
  return section(
    t('ad_methods'),
    table(
      [t('ad_method_col'), t('ad_added_col'), t('ad_last_used_col')],
      list.map((m) => [
        [describeMethod(m), m.is_default ? [' ', h('span', { class: 'mfa-badge' }, t('ad_default'))] : null],
        formatTime(m.added_at),
        m.last_used_at ? formatTime(m.last_used_at) : t('ap_never'),
      ]),
    ),
  );
}

function appPasswords(u) {
  const list = u.app_passwords || [];
  if (!list.length) return section(t('ad_app_passwords'), h('p', { class: 'mfa-muted' }, t('ad_no_app_passwords')));
  return section(
    t('ad_app_passwords'),
    table(
      [t('ap_name'), t('ap_created'), t('ap_last_used')],
      list.map((a) => [a.name, formatTime(a.created_at), a.last_used_at ? formatTime(a.last_used_at) : t('ap_never')]),
    ),
  );
}

function events(entries) {
  if (!entries.length) return section(t('ad_events'), h('p', { class: 'mfa-muted' }, t('ad_no_events')));
  return section(
    t('ad_events'),
    table(
      [t('aa_time'), t('aa_event'), t('aa_actor')],
      entries.map((e) => [formatTime(e.at), eventName(e.event), e.actor || t('aa_self')]),
    ),
  );
}

function actions(el, u, again) {
  const error = h('p', { class: 'mfa-error', hidden: true });
  const box = h('div', { class: 'mfa-user-actions' });

  // Status.
  const stateId = uid('state');
  const select = h('select', { id: stateId, class: 'mfa-input' }, STATES.map((s) => h('option', { value: s, selected: s === u.state }, t(`state_${s}`))));
  const stateForm = form(
    (f) =>
      el.busy(f, async () => {
        try {
          await el.client.setState(u.user, select.value);
          el.emit('mfa-admin-changed', { users: [u.user], actions: ['set-state'] });
          await again(t('ad_state_saved', { state: t(`state_${select.value}`) }));
        } catch (e) {
          el.showError(e, error);
        }
      }),
    h('div', { class: 'mfa-toolbar' }, h('div', { class: 'mfa-field' }, h('label', { for: stateId, class: 'mfa-label' }, t('act_set_state')), select), h('div', { class: 'mfa-actions' }, button(t('ad_state_save'), null, { type: 'submit' }))),
  );

  // One-step actions.
  const run = (action, label) =>
    el.busy(box, async () => {
      try {
        await el.client.act(u.user, action);
        el.emit('mfa-admin-changed', { users: [u.user], actions: [action] });
        await again(t('ad_action_done', { action: label }));
      } catch (e) {
        el.showError(e, error);
      }
    });
  const simple = ACTIONS.map((a) => button(t(`act_${a}`), () => run(a, t(`act_${a}`))));

  // Reset asks first: it removes every method.
  const resetArea = h('div', { class: 'mfa-row-actions' });
  const reset = button(t('act_reset'), () => {
    const yes = button(t('confirm'), () => run('reset', t('act_reset')), { class: 'mfa-button mfa-danger' });
    const no = button(t('cancel'), () => {
      resetArea.replaceChildren(reset);
      reset.focus();
    });
    resetArea.replaceChildren(h('p', { role: 'group' }, t('ad_reset_confirm', { user: u.user })), h('div', { class: 'mfa-actions' }, yes, no));
    yes.focus();
  }, { class: 'mfa-button mfa-danger' });
  resetArea.append(reset);

  // The admin role.
  const role = button(t(u.admin ? 'ad_take_admin' : 'ad_make_admin'), () =>
    el.busy(box, async () => {
      try {
        const r = await el.client.setAdmin(u.user, !u.admin);
        el.emit('mfa-admin-changed', { users: [u.user], actions: ['set-admin-role'] });
        await again(t('ad_role_saved', { user: u.user, role: t(r.admin ? 'ad_role_admin' : 'ad_role_user') }));
      } catch (e) {
        el.showError(e, error);
      }
    }),
  );

  // A one-time pass, shown once.
  const pass = button(t('ad_pass'), () =>
    el.busy(box, async () => {
      try {
        const p = await el.client.oneTimePass(u.user);
        showPass(el, u.user, p, () => again(t('ad_pass_until', { time: formatTime(p.expires_at) })));
      } catch (e) {
        el.showError(e, error);
      }
    }),
  );

  box.append(
    stateForm,
    h('div', { class: 'mfa-actions' }, simple, role),
    h('p', { class: 'mfa-hint' }, t('ad_pass_hint')),
    h('div', { class: 'mfa-actions' }, pass),
    resetArea,
    error,
  );
  return section(t('ad_actions'), box);
}

/** The new one-time pass, this once; forgotten on Done. */
function showPass(el, user, p, onDone) {
  let secret = p.pass;
  const id = uid('pass');
  const out = h('output', { id, class: 'mfa-secret' }, p.pass);
  const done = button(t('done'), () => {
    secret = '';
    out.textContent = '';
    el.takeFocus();
    onDone();
  }, { primary: true });
  el.takeFocus();
  el.view(t('ad_pass_title', { user }), [
    h('p', {}, t('ad_pass_intro', { user, time: formatTime(p.expires_at) })),
    h('div', { class: 'mfa-secret-row' }, out, copyButton(t('copy'), () => secret, (m) => el.say(m))),
    h('p', { class: 'mfa-warning', role: 'note' }, h('strong', {}, t('ad_pass_once'))),
    h('div', { class: 'mfa-actions' }, done),
  ]);
}

function section(title, content) {
  const id = uid('sec');
  return h('section', { class: 'mfa-section', 'aria-labelledby': id }, h('h3', { id }, title), content);
}

function table(head, rows) {
  return h(
    'table',
    { class: 'mfa-table' },
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))),
  );
}
