// What every element shares, the admin ones too: the API client, rendering
// one step at a time with focus moved to it, announcements for screen
// readers, error display and waits that count down. Nothing here loads the
// engine (see base.js).
import { ApiClient, MfaError } from './api.js';
import { h, button } from './dom.js';
import { t, describe, formatWait } from './messages.js';

export class WidgetElement extends HTMLElement {
  static observedAttributes = ['api'];
  /** The API client class (the admin elements use a larger one). */
  static Client = ApiClient;

  #ready = false;
  #timers = new Set();

  /** The API root (`api` attribute), default `/api/v1`. */
  get api() {
    return this.getAttribute('api') || '/api/v1';
  }
  set api(value) {
    this.setAttribute('api', value);
  }

  connectedCallback() {
    if (this.#ready) return;
    this.#ready = true;
    this.classList.add('mfa-widget');
    this.client = new this.constructor.Client(this.api);
    this.live = h('div', { class: 'mfa-sr', role: 'status', 'aria-live': 'polite' });
    this.alarm = h('div', { class: 'mfa-sr', role: 'alert' });
    this.body = h('div', { class: 'mfa-body', 'aria-live': 'off' });
    this.replaceChildren(this.body, this.live, this.alarm);
    this.view(t('loading'), [h('p', { class: 'mfa-muted' }, t('loading'))], { busy: true });
    this.preload();
    this.refresh();
  }

  disconnectedCallback() {
    for (const id of this.#timers) clearInterval(id);
    this.#timers.clear();
    this.#ready = false;
  }

  attributeChangedCallback(name, before, after) {
    if (this.#ready && before !== after) {
      this.client = new this.constructor.Client(this.api);
      this.refresh();
    }
  }

  /** Start loading what later steps need (nothing here). */
  preload() {}

  /** Start over from the server's current state. */
  refresh() {
    this.start().catch((e) => this.fatal(e));
  }

  /** Dispatch `name` with `detail` to the host page. */
  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  /** Say something politely to screen readers. */
  say(text) {
    this.live.textContent = '';
    requestAnimationFrame(() => (this.live.textContent = text));
  }

  /**
   * Show one step: a heading and its content. Focus moves to `focus` (or the
   * heading) when the person was working inside the element, so keyboard and
   * screen-reader users land on the new step; with the `autofocus` attribute
   * also for the first step.
   */
  view(title, content, { focus = null, busy = false } = {}) {
    const hadFocus = this.contains(document.activeElement) && document.activeElement !== document.body;
    const heading = h('h2', { class: 'mfa-title', tabindex: '-1' }, title);
    const step = h('section', { class: 'mfa-step', 'aria-busy': busy ? 'true' : null }, heading, content);
    this.body.replaceChildren(step);
    this.step = step;
    this.alarm.textContent = '';
    // `autofocus`: the first real step (not the loading one) takes the focus.
    const auto = !busy && !this.#autofocused && this.hasAttribute('autofocus');
    if (hadFocus || auto || this.#moveFocus) {
      (focus || heading).focus();
      if (auto) this.#autofocused = true;
    }
    this.#moveFocus = false;
    return step;
  }
  #autofocused = false;
  #moveFocus = false;

  /** Make the next `view` take focus (after an action started by the person). */
  takeFocus() {
    this.#moveFocus = true;
  }

  /**
   * Show an error: next to `target` (a field from dom.js, or an element whose
   * text is replaced) and announced; waits are counted down with `lock`
   * disabled until they end. Always emits `mfa-error`.
   */
  showError(err, target, lock) {
    const e = err instanceof MfaError ? err : new MfaError('server', String((err && err.message) || err));
    // The person cancelled a re-verification: the element already started over.
    if (e.code === 'cancelled') return e;
    const text = describe(e);
    if (target && target.error) target.error(text);
    else if (target) {
      target.textContent = text;
      target.hidden = false;
    }
    this.alarm.textContent = '';
    requestAnimationFrame(() => (this.alarm.textContent = text));
    this.emit('mfa-error', { code: e.code, message: text, status: e.status, retryAfter: e.retryAfter });
    if (e.until && lock && ['retry_later', 'locked', 'send_limit'].includes(e.code)) this.wait(e, target, lock);
    return e;
  }

  /** Keep `lock` disabled until the wait of `e` ends, with the message kept current. */
  wait(e, target, lock) {
    const locks = [].concat(lock);
    for (const b of locks) {
      b.disabled = true;
      b.dataset.locked = '1';
    }
    const tick = () => {
      const left = (e.until - Date.now()) / 1000;
      if (left <= 0 || !this.isConnected) {
        clearInterval(id);
        this.#timers.delete(id);
        for (const b of locks) {
          b.disabled = false;
          delete b.dataset.locked;
        }
        if (target && target.clear) target.clear();
        else if (target) target.hidden = true;
        if (this.isConnected) this.say(t('can_retry'));
        return;
      }
      if (e.code === 'retry_later' || e.code === 'send_limit') {
        const node = target && target.error ? target.wrap.querySelector('.mfa-error') : target;
        if (node) node.textContent = t(e.code, { wait: formatWait(left) });
      }
    };
    const id = setInterval(tick, 1000);
    this.#timers.add(id);
  }

  /** A whole-element error (the first load failed): the message and a way to try again. */
  fatal(err) {
    const msg = h('p', { class: 'mfa-error' });
    const again = button(t('try_again'), () => {
      this.takeFocus();
      this.refresh();
    }, { primary: true });
    this.view(t('try_again'), [msg, h('div', { class: 'mfa-actions' }, again)]);
    this.showError(err, msg);
  }

  /** Run `action` with `form` marked busy and its buttons disabled meanwhile. */
  async busy(form, action) {
    const buttons = [...form.querySelectorAll('button, input[type=submit]')].filter((b) => !b.disabled);
    form.setAttribute('aria-busy', 'true');
    for (const b of buttons) b.disabled = true;
    this.#moveFocus = true;
    try {
      return await action();
    } finally {
      this.#moveFocus = false;
      form.removeAttribute('aria-busy');
      for (const b of buttons) if (!b.dataset.locked) b.disabled = false;
    }
  }
}

/** A `<form>` that never submits the page and calls `onsubmit` on Enter or its submit button. */
export function form(onsubmit, ...children) {
  const f = h('form', { class: 'mfa-form', novalidate: true }, children);
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    onsubmit(f);
  });
  return f;
}
