// <mfa-app-passwords>: create (the password is shown once, with a copy
// button and a warning), list by name / created / last used, delete.
import { MfaElement, form } from './base.js';
import { h, uid, button, field, copyButton } from './dom.js';
import { t, formatTime } from './messages.js';

export class MfaAppPasswordsElement extends MfaElement {
  async start() {
    const data = await this.client.appPasswords();
    this.list(data.app_passwords || [], data.allowed !== false);
  }

  /** The list and the create form. */
  list(items, allowed, focusName = false) {
    this.allowed = allowed;
    const content = [h('p', {}, t('ap_intro'))];
    let name = null;
    if (allowed) {
      name = field(t('ap_name'), { type: 'text', autocomplete: 'off', maxlength: '64' }, t('ap_name_hint'));
      const create = button(t('ap_create'), null, { primary: true, type: 'submit' });
      content.push(
        form(
          (f) =>
            this.busy(f, async () => {
              const value = name.input.value.trim();
              if (!value) return name.error(t('empty_field'));
              try {
                await this.created(await this.sensitive(() => this.client.createAppPassword(value)));
              } catch (e) {
                this.showError(e, name, create);
              }
            }),
          name.wrap,
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
          h('thead', {}, h('tr', {}, [t('ap_name'), t('ap_created'), t('ap_last_used'), t('ap_actions')].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, items.map((item) => this.row(item))),
        ),
      );
    }
    this.view(t('ap_title'), content, { focus: focusName && name ? name.input : null });
  }

  row(item) {
    const tr = h(
      'tr',
      { 'data-id': item.id },
      h('th', { scope: 'row' }, item.name),
      h('td', {}, formatTime(item.created_at)),
      h('td', {}, item.last_used_at ? formatTime(item.last_used_at) : t('ap_never')),
    );
    const cell = h('td', { class: 'mfa-row-actions' });
    const ask = () => {
      const msg = h('p', { class: 'mfa-error', hidden: true });
      const yes = button(t('ap_delete'), () =>
        this.busy(cell, async () => {
          try {
            await this.client.deleteAppPassword(item.id);
            const data = await this.client.appPasswords();
            this.list(data.app_passwords || [], data.allowed !== false);
            this.say(t('ap_deleted', { name: item.name }));
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
  async created(res) {
    this.emit('mfa-app-password-created', { id: res.id, name: res.name, createdAt: res.created_at });
    const pw = field(t('ap_password'), { type: 'text', readonly: true, class: 'mfa-input mfa-secret', spellcheck: 'false', autocomplete: 'off' });
    // Grouped with spaces for reading; copied without separators (both are
    // accepted). Shown as the server sent it if the engine cannot format it:
    // this is the only time the password exists.
    let secret = res.password;
    pw.input.value = res.password;
    try {
      const mfa = await this.engine();
      secret = mfa.formatAppPassword(res.password, '');
      pw.input.value = mfa.formatAppPassword(res.password, ' ');
    } catch {
      // keep the server's form
    }
    pw.input.addEventListener('focus', () => pw.input.select());
    const done = button(t('ap_done'), async () => {
      // Forget the password: it is never shown again.
      secret = '';
      pw.input.value = '';
      this.takeFocus();
      const data = await this.client.appPasswords().catch((e) => (this.fatal(e), null));
      if (data) this.list(data.app_passwords || [], data.allowed !== false, true);
    }, { primary: true });
    this.view(t('ap_created_title'), [
      h('p', {}, t('ap_created_intro', { name: res.name })),
      h('div', { class: 'mfa-secret-row' }, pw.wrap, copyButton(t('copy'), () => secret, (m) => this.say(m))),
      h('p', { class: 'mfa-warning', role: 'note' }, h('strong', {}, t('ap_warning'))),
      h('div', { class: 'mfa-actions' }, done),
    ], { focus: pw.input });
    this.say(`${t('ap_created_title')}. ${t('ap_warning')}`);
  }
}
