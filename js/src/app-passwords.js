// <mfa-app-passwords>: create (optionally limited to scopes and with an
// expiry date; the password is shown once, with a copy button and a
// warning), list by name / created / last used / expiry, delete with a
// confirmation that stays visible.
import { MfaElement, form } from './base.js';
import { h, uid, button, field } from './dom.js';
import { t, formatTime } from './messages.js';
import { showAppPassword, formatDay } from './app-password-shown.js';

export class MfaAppPasswordsElement extends MfaElement {
  async start() {
    await this.reload();
  }

  async reload(options) {
    const data = await this.client.appPasswords();
    this.list(data.app_passwords || [], data.allowed !== false, options);
  }

  /** The list and the create form; `notice` is a confirmation shown above it. */
  list(items, allowed, { focusName = false, notice = null } = {}) {
    this.allowed = allowed;
    const content = [];
    if (notice) content.push(h('p', { class: 'mfa-confirm' }, notice));
    content.push(h('p', {}, t('ap_intro')));
    let name = null;
    if (allowed) {
      name = field(t('ap_name'), { type: 'text', autocomplete: 'off', maxlength: '64' }, t('ap_name_hint'));
      const scopes = field(t('ap_scopes'), { type: 'text', autocomplete: 'off', spellcheck: 'false' }, t('ap_scopes_hint'));
      const expires = field(t('ap_expires'), { type: 'date', min: isoDay(Date.now() + 86400e3) }, t('ap_expires_hint'));
      const create = button(t('ap_create'), null, { primary: true, type: 'submit' });
      content.push(
        form(
          (f) =>
            this.busy(f, async () => {
              const value = name.input.value.trim();
              if (!value) return name.error(t('empty_field'));
              const wanted = scopes.input.value.split(/[\s,]+/).filter(Boolean);
              let until = null;
              if (expires.input.value) {
                // The end of the chosen day, in the person's time zone.
                until = Math.floor(new Date(`${expires.input.value}T23:59:59`).getTime() / 1000);
                if (!(until > Date.now() / 1000)) return expires.error(t('ap_expires_past'));
              }
              try {
                const res = await this.sensitive(() => this.client.createAppPassword(value, wanted, until));
                await this.created(res);
              } catch (e) {
                // The engine names the field it refused.
                const target = /scope/i.test(e.message) ? scopes : /expir/i.test(e.message) ? expires : name;
                this.showError(e, target, create);
              }
            }),
          name.wrap,
          h(
            'details',
            { class: 'mfa-more' },
            h('summary', {}, t('ap_more')),
            scopes.wrap,
            expires.wrap,
          ),
          h('div', { class: 'mfa-actions' }, create),
        ),
      );
    } else {
      content.push(h('p', { class: 'mfa-note' }, t('ap_not_allowed')));
    }
    const listId = uid('ap');
    content.push(h('h3', { id: listId }, t('ap_list')));
    if (!items.length) content.push(h('p', { class: 'mfa-muted' }, t('ap_none')));
    else {
      content.push(
        h(
          'table',
          { class: 'mfa-table', 'aria-labelledby': listId },
          h('thead', {}, h('tr', {}, [t('ap_name'), t('ap_created'), t('ap_last_used'), t('ap_expires_col'), t('ap_actions')].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, items.map((item) => this.row(item))),
        ),
      );
    }
    this.view(t('ap_title'), content, { focus: focusName && name ? name.input : null });
  }

  row(item) {
    const scoped = item.scopes && item.scopes.length ? h('span', { class: 'mfa-muted mfa-scopes' }, ` (${item.scopes.join(', ')})`) : null;
    const expired = item.expires_at && item.expires_at * 1000 <= Date.now();
    const tr = h(
      'tr',
      { 'data-id': item.id },
      h('th', { scope: 'row' }, item.name, scoped),
      h('td', {}, formatTime(item.created_at)),
      h('td', {}, item.last_used_at ? formatTime(item.last_used_at) : t('ap_never')),
      h('td', {}, item.expires_at ? t(expired ? 'ap_expired_on' : 'ap_expires_on', { time: formatDay(item.expires_at) }) : t('ap_no_expiry')),
    );
    const cell = h('td', { class: 'mfa-row-actions' });
    const ask = () => {
      const msg = h('p', { class: 'mfa-error', hidden: true });
      const yes = button(t('ap_delete'), () =>
        this.busy(cell, async () => {
          try {
            await this.client.deleteAppPassword(item.id);
            const notice = t('ap_deleted', { name: item.name });
            this.takeFocus();
            await this.reload({ notice });
            this.say(notice);
            this.emit('mfa-app-password-deleted', { id: item.id, name: item.name });
          } catch (e) {
            this.showError(e, msg);
          }
        }), { class: 'mfa-button mfa-danger' });
      const no = button(t('cancel'), () => {
        cell.replaceChildren(del);
        del.focus();
      });
      cell.replaceChildren(h('p', { role: 'group' }, t('ap_confirm', { name: item.name })), msg, h('div', { class: 'mfa-actions' }, yes, no));
      yes.focus();
    };
    const del = button(t('ap_delete'), ask, { 'aria-label': t('ap_delete_label', { name: item.name }) });
    cell.append(del);
    tr.append(cell);
    return tr;
  }

  /** The new password, shown this once. */
  created(res) {
    return showAppPassword(this, res, {
      title: t('ap_created_title'),
      intro: t('ap_created_intro', { name: res.name }),
      onDone: () => this.reload({ focusName: true }).catch((e) => this.fatal(e)),
    });
  }
}

/** A time (ms) as the `yyyy-mm-dd` of a date input, in local time. */
function isoDay(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
