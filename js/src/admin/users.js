// <mfa-admin-users>: the users tab of seed 004. Search and filter by MFA
// status, select users (one by one or the whole page), then Enable / Enforce
// / Disable them or "Manage user settings"; each user opens a detail view
// (see user-detail.js). Every change goes through the server, which asks the
// engine whether the signed-in user may administer.
import { form } from '../element.js';
import { h, uid, button, field } from '../dom.js';
import { t, describe } from '../messages.js';
import { MfaError } from '../api.js';
import { AdminElement } from './base.js';
import { showUser } from './user-detail.js';

const STATES = ['disabled', 'enabled', 'enforced'];
const PAGE = 50;

export class MfaAdminUsersElement extends AdminElement {
  #q = '';
  #state = '';
  #pages = [null];
  #selected = new Set();

  async start() {
    await this.reload();
  }

  /** Load the current page and show it; `notice` is a confirmation kept above the list. */
  async reload({ notice = null, problems = [] } = {}) {
    const after = this.#pages[this.#pages.length - 1];
    const data = await this.client.users({ q: this.#q, state: this.#state, after, limit: PAGE });
    this.list(data.users || [], data.next || null, notice, problems);
  }

  list(users, next, notice, problems) {
    const content = [];
    if (notice) content.push(h('p', { class: 'mfa-confirm' }, notice));
    if (problems.length) content.push(h('ul', { class: 'mfa-error mfa-problems' }, problems.map((p) => h('li', {}, p))));
    content.push(h('p', {}, t('au_intro')));

    const search = field(t('au_search'), { type: 'search', autocomplete: 'off', spellcheck: 'false', maxlength: '256', value: this.#q }, t('au_search_hint'));
    const filterId = uid('state');
    const filter = h(
      'select',
      { id: filterId, class: 'mfa-input' },
      h('option', { value: '' }, t('au_filter_all')),
      STATES.map((s) => h('option', { value: s, selected: s === this.#state }, t(`state_${s}`))),
    );
    const searchError = h('p', { class: 'mfa-error', hidden: true });
    content.push(
      form(
        (f) =>
          this.busy(f, async () => {
            this.#q = search.input.value.trim();
            this.#state = filter.value;
            this.#pages = [null];
            this.#selected.clear();
            try {
              await this.reload();
            } catch (e) {
              this.showError(e, search);
            }
          }),
        h(
          'div',
          { class: 'mfa-toolbar', role: 'search' },
          search.wrap,
          h('div', { class: 'mfa-field' }, h('label', { for: filterId, class: 'mfa-label' }, t('au_filter')), filter),
          h('div', { class: 'mfa-actions' }, button(t('au_search_go'), null, { type: 'submit' })),
        ),
        searchError,
      ),
    );

    const count = h('p', { class: 'mfa-muted', 'aria-live': 'polite' });
    const bulkButtons = [];
    const refreshCount = () => {
      count.textContent = this.#selected.size ? t('au_selected', { n: this.#selected.size }) : t('au_selected_none');
      for (const b of bulkButtons) b.disabled = this.#selected.size === 0;
    };

    if (!users.length) content.push(h('p', { class: 'mfa-muted' }, t('au_none')));
    else {
      const boxes = [];
      const all = h('input', { type: 'checkbox', 'aria-label': t('au_select_all') });
      const syncAll = () => {
        const n = boxes.filter((b) => b.checked).length;
        all.checked = n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      };
      all.addEventListener('change', () => {
        for (const b of boxes) {
          b.checked = all.checked;
          if (all.checked) this.#selected.add(b.value);
          else this.#selected.delete(b.value);
        }
        refreshCount();
      });
      const rows = users.map((u) => {
        const box = h('input', { type: 'checkbox', value: u.user, checked: this.#selected.has(u.user), 'aria-label': t('au_select', { user: u.user }) });
        box.addEventListener('change', () => {
          if (box.checked) this.#selected.add(u.user);
          else this.#selected.delete(u.user);
          syncAll();
          refreshCount();
        });
        boxes.push(box);
        const open = h('button', { type: 'button', class: 'mfa-link', 'aria-label': t('au_open', { user: u.user }), onclick: () => this.open(u.user) }, u.user);
        return h(
          'tr',
          { 'data-user': u.user },
          h('td', {}, box),
          h('th', { scope: 'row' }, open),
          h('td', { 'data-state': u.state }, t(`state_${u.state}`)),
        );
      });
      syncAll();
      const listId = uid('users');
      content.push(
        h(
          'table',
          { class: 'mfa-table mfa-users', 'aria-labelledby': listId },
          h('caption', { id: listId, class: 'mfa-sr' }, t('au_title')),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, all), h('th', { scope: 'col' }, t('au_col_user')), h('th', { scope: 'col' }, t('au_col_state')))),
          h('tbody', {}, rows),
        ),
      );
      const paging = h('div', { class: 'mfa-actions mfa-paging' });
      if (this.#pages.length > 1) {
        paging.append(button(t('au_prev'), () => this.page(-1)));
      }
      if (next) paging.append(button(t('au_next'), () => this.page(1, next)));
      if (paging.childElementCount) content.push(paging);
    }

    const groupId = uid('bulk');
    const bulkError = h('p', { class: 'mfa-error', hidden: true });
    const group = h('div', { class: 'mfa-bulk', role: 'group', 'aria-labelledby': groupId });
    for (const [label, state] of [['au_enable', 'enabled'], ['au_enforce', 'enforced'], ['au_disable', 'disabled']]) {
      const b = button(t(label), () => this.busy(group, () => this.setStates(state, t(label), bulkError)));
      bulkButtons.push(b);
    }
    const manage = button(t('au_manage'), () => this.manage());
    bulkButtons.push(manage);
    group.append(h('h3', { id: groupId }, t('au_with_selected')), count, h('div', { class: 'mfa-actions' }, bulkButtons), bulkError);
    content.push(group);
    refreshCount();
    this.view(t('au_title'), content);
  }

  async page(step, next) {
    if (step > 0) this.#pages.push(next);
    else if (this.#pages.length > 1) this.#pages.pop();
    this.takeFocus();
    await this.reload().catch((e) => this.fatal(e));
  }

  /** Enable, Enforce or Disable every selected user. */
  async setStates(state, label, errorLine) {
    await this.runBulk([['set-state', label, state]], errorLine);
  }

  /**
   * Run actions over the selected users and show what happened: how many
   * users each action reached, and why it failed for the others.
   */
  async runBulk(actions, errorLine) {
    const users = [...this.#selected];
    const notes = [];
    const problems = [];
    try {
      for (const [action, label, state] of actions) {
        const res = await this.client.bulk(users, action, state);
        const results = res.results || [];
        notes.push(t('au_done', { action: label, n: results.length - (res.failed || 0), total: users.length }));
        for (const r of results) if (!r.ok) problems.push(t('au_failed_for', { user: r.user, why: describe(r.error || {}) }));
      }
    } catch (e) {
      this.showError(e, errorLine);
      return;
    }
    const notice = notes.join(' ');
    this.emit('mfa-admin-changed', { users, actions: actions.map((a) => a[0]) });
    this.takeFocus();
    await this.reload({ notice, problems });
    this.say(notice);
  }

  /** "Manage user settings" for the selected users: seed 004's three options, and unlock. */
  manage() {
    const options = [
      ['require-reregistration', 'au_reregister', 'act_require-reregistration'],
      ['delete-app-passwords', 'au_delete_ap', 'act_delete-app-passwords'],
      ['restore-remembered-devices', 'au_restore', 'act_restore-remembered-devices'],
      ['unlock', 'au_unlock', 'act_unlock'],
    ].map(([action, label, short]) => {
      const id = uid('opt');
      const input = h('input', { type: 'checkbox', id, value: action });
      return { action, short, input, wrap: h('div', { class: 'mfa-check' }, input, h('label', { for: id }, t(label))) };
    });
    const error = h('p', { class: 'mfa-error', hidden: true });
    const save = button(t('au_manage_save'), null, { primary: true, type: 'submit' });
    const cancel = button(t('cancel'), () => {
      this.takeFocus();
      this.reload().catch((e) => this.fatal(e));
    });
    const f = form(
      (fm) =>
        this.busy(fm, async () => {
          const chosen = options.filter((o) => o.input.checked);
          if (!chosen.length) return this.showError(new MfaError('pick', t('au_manage_pick')), error);
          await this.runBulk(chosen.map((o) => [o.action, t(o.short)]), error);
        }),
      h('fieldset', { class: 'mfa-choices' }, h('legend', { class: 'mfa-label' }, t('au_manage_intro', { n: this.#selected.size })), options.map((o) => o.wrap)),
      error,
      h('div', { class: 'mfa-actions' }, save, cancel),
    );
    const list = h('ul', { class: 'mfa-muted' }, [...this.#selected].slice(0, 20).map((u) => h('li', {}, u)));
    this.takeFocus();
    this.view(t('au_manage_title'), [list, f]);
  }

  /** The detail view of one user. */
  async open(user) {
    this.takeFocus();
    try {
      await showUser(this, user, () => {
        this.takeFocus();
        this.reload().catch((e) => this.fatal(e));
      });
    } catch (e) {
      this.fatal(e);
    }
  }
}
