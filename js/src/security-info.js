// <mfa-security-info>: Entra's "Security info" page. Every registered method
// with the default marked; change the default; add a method (an embedded
// <mfa-enroll>, with Cancel); delete one after a confirmation; new recovery
// codes (the old set stops working; shown once); "Sign out everywhere".
// Every change goes through `sensitive`, so a stale second factor is asked
// for again first; what may be changed is decided by the server's engine.
import { MfaElement, form } from './base.js';
import { h, uid, button, radios } from './dom.js';
import { t } from './messages.js';
import { kindOf, detailOf, describeMethod } from './method-name.js';
import { formatDay } from './app-password-shown.js';
import { recoveryCodes } from './recovery-codes.js';

export class MfaSecurityInfoElement extends MfaElement {
  async start(notice = null) {
    const [session, data] = await Promise.all([this.client.session(), this.client.methods()]);
    this.session = session;
    if (!session.mfa) {
      this.view(t('si_title'), h('p', {}, t(session.next && session.next.next !== 'done' ? 'wait_verify' : 'mfa_off')));
      return;
    }
    this.show(data, notice);
  }

  /** Reload and show, with `notice` as a visible confirmation above the list. */
  reload(notice) {
    this.takeFocus();
    return this.start(notice).catch((e) => this.fatal(e));
  }

  show(data, notice) {
    const methods = data.methods || [];
    const current = methods.find((m) => m.is_default);
    const listId = uid('si');
    const content = [];
    if (notice) content.push(h('p', { class: 'mfa-confirm' }, notice));
    content.push(
      h('p', {}, t('si_intro')),
      h(
        'p',
        { class: 'mfa-default' },
        t('si_default'),
        ' ',
        h('strong', {}, current ? describeMethod(current) : t('si_no_default')),
        methods.length > 1 ? [' ', button(t('si_change'), () => this.chooseDefault(methods))] : null,
      ),
      h('h3', { id: listId }, t('si_methods')),
      h(
        'table',
        { class: 'mfa-table', 'aria-labelledby': listId },
        h('thead', {}, h('tr', {}, [t('si_method'), t('si_detail'), t('si_added'), t('ap_actions')].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, methods.map((m) => this.row(m, methods))),
      ),
      h('div', { class: 'mfa-actions' }, button(t('si_add'), () => this.add(), { primary: true })),
    );
    content.push(this.recoverySection(data.recovery_codes_left), this.signOutSection());
    this.view(t('si_title'), content);
  }

  row(m, methods) {
    const cell = h('td', { class: 'mfa-row-actions' });
    const name = h('th', { scope: 'row' }, t(`m_${kindOf(m)}`), m.is_default ? [' ', h('span', { class: 'mfa-badge' }, t('si_default_badge'))] : null);
    const tr = h('tr', { 'data-id': m.id }, name, h('td', {}, detailOf(m)), h('td', {}, formatDay(m.added_at)), cell);
    const label = describeMethod(m);
    const ask = () => {
      const msg = h('p', { class: 'mfa-error', hidden: true });
      const last = methods.length === 1;
      const yes = button(t('ap_delete'), () =>
        this.busy(cell, async () => {
          try {
            await this.sensitive(() => this.client.removeMethod(m.id));
            this.emit('mfa-method-removed', { methodId: m.id, type: m.method_type });
            await this.reload(t('si_deleted', { method: label }));
            this.say(t('si_deleted', { method: label }));
          } catch (e) {
            this.showError(e, msg);
          }
        }), { class: 'mfa-button mfa-danger' });
      const no = button(t('cancel'), () => {
        cell.replaceChildren(h('div', { class: 'mfa-actions' }, change, del));
        del.focus();
      });
      const question = t(last ? 'si_confirm_last' : m.is_default ? 'si_confirm_default' : 'si_confirm', { method: label });
      cell.replaceChildren(h('p', { role: 'group' }, question), msg, h('div', { class: 'mfa-actions' }, yes, no));
      yes.focus();
    };
    const del = button(t('ap_delete'), ask, { 'aria-label': t('si_delete_label', { method: label }) });
    const phone = m.method_type === 'text' || m.method_type === 'call';
    const change = phone ? button(t('si_change_phone'), () => this.changePhone(m), { 'aria-label': t('si_change_phone_label', { method: label }) }) : null;
    cell.append(h('div', { class: 'mfa-actions' }, change, del));
    return tr;
  }

  /** "Change" the default: the registered methods as choices. */
  chooseDefault(methods) {
    this.takeFocus();
    const current = methods.find((m) => m.is_default);
    const choice = radios(
      t('si_default_legend'),
      uid('def'),
      methods.map((m) => ({ value: String(m.id), label: describeMethod(m) })),
      current ? String(current.id) : String(methods[0].id),
    );
    const msg = h('p', { class: 'mfa-error', hidden: true });
    const f = form(
      (f) =>
        this.busy(f, async () => {
          const id = Number(choice.value());
          const chosen = methods.find((m) => m.id === id);
          try {
            if (!current || current.id !== id) await this.sensitive(() => this.client.setDefault(id));
            this.emit('mfa-default-changed', { methodId: id });
            await this.reload(t('si_default_set', { method: describeMethod(chosen) }));
          } catch (e) {
            this.showError(e, msg);
          }
        }),
      h('p', {}, t('si_default_intro')),
      choice.set,
      msg,
      h('div', { class: 'mfa-actions' }, button(t('si_confirm_button'), null, { primary: true, type: 'submit' }), this.cancelButton()),
    );
    this.view(t('si_default_title'), f, { focus: choice.set.querySelector('input:checked') });
  }

  /** "Add a method": "Set it up now" for one more method, inside this element. */
  add() {
    this.takeFocus();
    const child = document.createElement('mfa-enroll');
    child.setAttribute('api', this.api);
    child.setAttribute('autofocus', '');
    for (const a of ['methods', 'default-country', 'account']) if (this.hasAttribute(a)) child.setAttribute(a, this.getAttribute(a));
    child.addEventListener('mfa-done', (ev) => {
      ev.stopPropagation();
      this.emit('mfa-method-added', { methods: ev.detail.methods });
      this.reload(t('si_added_notice'));
    });
    this.view(t('si_add_title'), [child, h('div', { class: 'mfa-actions' }, this.cancelButton())]);
  }

  /** "Change" a phone: the new number is proven with a code; the old one goes only then. */
  changePhone(m) {
    this.takeFocus();
    const child = document.createElement('mfa-enroll');
    child.setAttribute('api', this.api);
    child.setAttribute('autofocus', '');
    child.setAttribute('replaces', String(m.id));
    for (const a of ['default-country']) if (this.hasAttribute(a)) child.setAttribute(a, this.getAttribute(a));
    child.addEventListener('mfa-done', (ev) => {
      ev.stopPropagation();
      this.emit('mfa-phone-changed', { replaced: m.id, methods: ev.detail.methods });
      this.takeFocus();
      this.reload(t('si_phone_changed_notice'));
    });
    this.view(t('si_title'), [child, h('div', { class: 'mfa-actions' }, this.cancelButton())]);
  }

  cancelButton() {
    return button(t('cancel'), () => this.reload(null));
  }

  recoverySection(left) {
    const id = uid('rc');
    const msg = h('p', { class: 'mfa-error', hidden: true });
    const section = h('section', { 'aria-labelledby': id });
    const get = button(t('si_new_codes'), () => {
      const yes = button(t('si_new_codes_confirm'), () =>
        this.busy(section, async () => {
          try {
            const res = await this.sensitive(() => this.client.regenerateRecoveryCodes());
            this.emit('mfa-recovery-codes-issued', { count: res.recovery_codes.length });
            this.newCodes(res.recovery_codes);
          } catch (e) {
            this.showError(e, msg);
          }
        }), { primary: true });
      const no = button(t('cancel'), () => {
        actions.replaceChildren(get);
        get.focus();
      });
      actions.replaceChildren(h('p', { role: 'group' }, t('si_new_codes_warning')), h('div', { class: 'mfa-actions' }, yes, no));
      yes.focus();
    });
    const actions = h('div', {}, get);
    section.append(
      h('h3', { id }, t('si_codes_title')),
      h('p', {}, left === 0 ? t('si_codes_none') : t('si_codes_left', { count: left })),
      msg,
      actions,
    );
    return section;
  }

  /** The new codes, shown once, to be saved before going on. */
  newCodes(codes) {
    this.takeFocus();
    const user = this.session && this.session.user;
    const saved = recoveryCodes(codes, user, (m) => this.say(m));
    const msg = h('p', { class: 'mfa-error', hidden: true });
    const done = button(t('ap_done'), () => {
      if (!saved.checked()) {
        msg.textContent = t('saved_codes_first');
        msg.hidden = false;
        this.alarm.textContent = msg.textContent;
        saved.focus();
        return;
      }
      this.reload(t('si_codes_replaced'));
    }, { primary: true });
    this.view(t('si_new_codes_title'), [h('p', {}, t('si_new_codes_intro')), saved.section, msg, h('div', { class: 'mfa-actions' }, done)]);
    this.say(t('si_new_codes_title'));
  }

  signOutSection() {
    const id = uid('so');
    const msg = h('p', { class: 'mfa-error', hidden: true });
    const section = h('section', { 'aria-labelledby': id });
    const go = button(t('si_sign_out_all'), () => {
      const yes = button(t('si_sign_out_all'), () =>
        this.busy(section, async () => {
          try {
            await this.client.signOutEverywhere();
            this.emit('mfa-signed-out', { everywhere: true });
            this.view(t('si_signed_out_title'), h('p', {}, t('si_signed_out')));
          } catch (e) {
            this.showError(e, msg);
          }
        }), { class: 'mfa-button mfa-danger' });
      const no = button(t('cancel'), () => {
        actions.replaceChildren(go);
        go.focus();
      });
      actions.replaceChildren(h('p', { role: 'group' }, t('si_sign_out_confirm')), h('div', { class: 'mfa-actions' }, yes, no));
      yes.focus();
    });
    const actions = h('div', {}, go);
    section.append(h('h3', { id }, t('si_sign_out_title')), h('p', {}, t('si_sign_out_intro')), msg, actions);
    return section;
  }
}
