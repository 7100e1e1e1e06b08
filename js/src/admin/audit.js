// <mfa-admin-audit>: the audit log, newest first, filtered by user and event
// kind, a page at a time ("Older events"). Attribute `user` starts with that
// user's events. Entries name what happened and who did it; the server
// never stores a secret in them, and only names and times are shown.
import { form } from '../element.js';
import { h, uid, button, field } from '../dom.js';
import { t, formatTime } from '../messages.js';
import { AdminElement } from './base.js';
import { EVENTS, eventName } from './messages.js';

const PAGE = 25;

export class MfaAdminAuditElement extends AdminElement {
  static observedAttributes = ['api', 'user'];
  #user = null;
  #event = '';

  attributeChangedCallback(name, before, after) {
    if (name === 'user') this.#user = after || '';
    super.attributeChangedCallback(name, before, after);
  }

  async start() {
    if (this.#user == null) this.#user = this.getAttribute('user') || '';
    const data = await this.client.audit({ user: this.#user, event: this.#event, limit: PAGE });
    this.show(data);
  }

  show(data) {
    const user = field(t('aa_user'), { type: 'search', autocomplete: 'off', spellcheck: 'false', value: this.#user });
    const eventId = uid('ev');
    const event = h(
      'select',
      { id: eventId, class: 'mfa-input' },
      h('option', { value: '' }, t('aa_event_all')),
      EVENTS.map((e) => h('option', { value: e, selected: e === this.#event }, eventName(e))),
    );
    const tbody = h('tbody', {});
    const table = h(
      'table',
      { class: 'mfa-table mfa-audit' },
      h('thead', {}, h('tr', {}, [t('aa_time'), t('aa_user'), t('aa_event'), t('aa_actor'), t('aa_detail')].map((c) => h('th', { scope: 'col' }, c)))),
      tbody,
    );
    const empty = h('p', { class: 'mfa-muted' }, t('aa_none'));
    const more = h('div', { class: 'mfa-actions' });
    const error = h('p', { class: 'mfa-error', hidden: true });
    const add = (page) => {
      tbody.append(...(page.entries || []).map(row));
      table.hidden = !tbody.childElementCount;
      empty.hidden = !table.hidden;
      more.replaceChildren();
      if (page.next != null) {
        const older = button(t('aa_more'), () =>
          this.busy(more, async () => {
            try {
              const next = await this.client.audit({ user: this.#user, event: this.#event, before: page.next, limit: PAGE });
              const first = tbody.childElementCount;
              add(next);
              // Keyboard users continue at the first new entry.
              const target = tbody.children[first];
              if (target) {
                target.setAttribute('tabindex', '-1');
                target.focus();
              }
            } catch (e) {
              this.showError(e, error);
            }
          }),
        );
        more.append(older);
      }
    };
    add(data);
    const filters = form(
      (f) =>
        this.busy(f, async () => {
          this.#user = user.input.value.trim();
          this.#event = event.value;
          try {
            this.show(await this.client.audit({ user: this.#user, event: this.#event, limit: PAGE }));
          } catch (e) {
            this.showError(e, user);
          }
        }),
      h(
        'div',
        { class: 'mfa-toolbar', role: 'search' },
        user.wrap,
        h('div', { class: 'mfa-field' }, h('label', { for: eventId, class: 'mfa-label' }, t('aa_event')), event),
        h('div', { class: 'mfa-actions' }, button(t('aa_filter'), null, { type: 'submit' })),
      ),
    );
    this.view(t('aa_title'), [filters, table, empty, more, error]);
  }
}

/** Fields that have their own column. */
const SHOWN = new Set(['id', 'at', 'user', 'user_id', 'actor', 'event', 'method']);

/** One entry: when, whose, what, by whom, and the event's own (non-secret) fields. */
function row(e) {
  const detail = Object.entries(e.detail || {})
    .filter(([k, v]) => v != null && typeof v !== 'object' && !SHOWN.has(k))
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${v}`)
    .join(', ');
  return h(
    'tr',
    { 'data-event': e.event },
    h('td', {}, formatTime(e.at)),
    h('th', { scope: 'row' }, e.user),
    h('td', {}, eventName(e.event), e.method ? ` (${e.method.replace(/_/g, ' ')})` : null),
    h('td', {}, e.actor || t('aa_self')),
    h('td', { class: 'mfa-muted' }, detail),
  );
}
