// The user-facing elements: a widget element that also loads the wasm
// engine, and asks for a fresh second factor before sensitive changes.
import { MfaError, engineError } from './api.js';
import { engine } from './engine.js';
import { h, button } from './dom.js';
import { t } from './messages.js';
import { WidgetElement, form } from './element.js';

export { form };

export class MfaElement extends WidgetElement {
  /** Start loading the engine now; the first step does not need it yet. */
  preload() {
    engine().catch(() => {});
  }

  /** The engine's functions; engine errors come back as `MfaError`. */
  async engine() {
    return engine();
  }

  /** Run an engine function, turning its `JsError` into an `MfaError`. */
  check(fn) {
    try {
      return fn();
    } catch (e) {
      throw engineError(e);
    }
  }

  /**
   * Run a sensitive change (a new app password, another method): when the
   * server asks for a fresh second factor first (`reauth_required`: the last
   * one is older than the policy's window), ask for one here and try once
   * more. Cancelling starts the element over.
   */
  async sensitive(run) {
    try {
      return await run();
    } catch (e) {
      if (!(e instanceof MfaError) || e.code !== 'reauth_required') throw e;
    }
    await this.reverify();
    return run();
  }

  /** "Verify it's you": an `<mfa-verify reauth>` in this element, resolved once it succeeds. */
  reverify() {
    return new Promise((resolve, reject) => {
      const child = document.createElement('mfa-verify');
      for (const [k, v] of [['api', this.api], ['reauth', ''], ['autofocus', '']]) child.setAttribute(k, v);
      child.addEventListener('mfa-verified', (ev) => {
        // The page hears of the change itself, not of this step.
        ev.stopPropagation();
        this.takeFocus();
        resolve();
      });
      const cancel = button(t('cancel'), () => {
        this.takeFocus();
        this.refresh();
        reject(new MfaError('cancelled', t('reauth_title')));
      });
      this.view(t('reauth_title'), [h('p', {}, t('reauth_intro')), child, h('div', { class: 'mfa-actions' }, cancel)]);
      this.say(t('reauth_intro'));
    });
  }

}
