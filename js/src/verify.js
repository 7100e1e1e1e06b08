// <mfa-verify>: the second factor at sign-in. The default method first; "use
// another method" lists the others and recovery codes; "don't ask again on
// this device" asks the server for a remembered-device cookie.
import { MfaElement, form } from './base.js';
import { h, uid, button, field, codeField } from './dom.js';
import { t, formatTime } from './messages.js';
import { getPasskey, withCancel } from './passkey.js';

export class MfaVerifyElement extends MfaElement {
  async start() {
    if (this.hasAttribute('reauth')) return this.again();
    const s = await this.client.session();
    const next = (s.next && s.next.next) || 'continue';
    this.user = s.user;
    if (s.mfa && next === 'done' && s.stay_signed_in === 'ask') {
      // Signed in on a remembered device: no code, but "Stay signed in?" all the same.
      return this.success({ user: s.user, session_expires_at: s.session_expires_at, stay_signed_in: 'ask' }, [
        h('p', { class: 'mfa-note' }, t('remembered_used')),
      ]);
    }
    if ((s.mfa && next !== 'replace') || next === 'done') {
      this.view(t('verified_title'), h('p', {}, t('already_verified')));
      this.emit('mfa-verified', { user: s.user, already: true });
      return;
    }
    if (next === 'locked_out') {
      this.view(t('locked_title'), h('p', {}, t('locked_out_intro')));
      this.emit('mfa-next', { next });
      return;
    }
    if (next === 'locked') {
      this.view(t('locked_title'), h('p', {}, t('locked_intro', { time: formatTime(s.next.until) })));
      this.emit('mfa-next', { next, until: s.next.until });
      return;
    }
    if (next === 'replace' && s.mfa) {
      this.view(t('verified_title'), h('p', {}, t('replace_now')));
      this.emit('mfa-verified', { user: s.user, already: true });
      return;
    }
    if (next !== 'verify' && next !== 'replace') {
      this.view(t('verify_title'), h('p', {}, t('needs_enroll')));
      this.emit('mfa-next', { next });
      return;
    }
    const usable = new Set(s.next.methods);
    this.methods = (s.methods || []).filter((m) => usable.has(m.id));
    this.recovery = !!s.next.recovery_codes;
    this.pass = !!s.next.one_time_pass;
    this.replacing = next === 'replace';
    // Registered but not offered: locked after failed attempts, or no longer allowed.
    const held = (s.methods || []).filter((m) => !usable.has(m.id));
    this.heldNote = held.length
      ? h('p', { class: 'mfa-note' }, t('methods_held', { methods: held.map((m) => methodName(m)).join(', ') }))
      : null;
    if (this.replacing) {
      // The methods are no longer allowed: prove with one, then set up a new one.
      this.heldNote = h('p', { class: 'mfa-note' }, t(this.methods.length || this.recovery || this.pass ? 'replace_intro' : 'replace_ask_admin'));
    }
    const first = this.methods.find((m) => m.id === s.next.default) || this.methods[0];
    if (first) this.prompt(first);
    else if (this.recovery) this.recoveryPrompt();
    else if (this.pass) this.passPrompt();
    else this.view(t('verify_title'), [this.takeHeldNote()]);
  }

  /**
   * `reauth`: a signed-in person proves a method again before a sensitive
   * change (the session becomes recent); any registered method or a recovery code.
   */
  async again() {
    const data = await this.client.methods();
    this.methods = data.methods || [];
    this.recovery = data.recovery_codes_left > 0;
    this.pass = this.replacing = false;
    this.heldNote = null;
    const first = this.methods.find((m) => m.id === data.default_method) || this.methods[0];
    if (first) this.prompt(first);
    else if (this.recovery) this.recoveryPrompt();
    else this.view(t('verify_title'), h('p', {}, t('needs_enroll')));
  }

  /** The "don't ask again on this device" box, unless the page turned it off. */
  rememberBox() {
    if (this.hasAttribute('no-remember') || this.hasAttribute('reauth')) return { box: null, checked: () => false };
    const id = uid('remember');
    const box = h(
      'div',
      { class: 'mfa-check' },
      h('input', { type: 'checkbox', id, 'aria-describedby': `${id}-hint` }),
      h('label', { for: id }, t('remember')),
      h('p', { id: `${id}-hint`, class: 'mfa-hint' }, t('remember_hint')),
    );
    return { box, checked: () => box.querySelector('input').checked };
  }

  otherButton() {
    const keys = this.methods.filter((m) => m.method_type === 'passkey').length;
    const ways = this.methods.length - Math.max(0, keys - 1) + (this.recovery ? 1 : 0) + (this.pass ? 1 : 0);
    if (ways < 2) return null;
    return button(t('other_method'), () => {
      this.takeFocus();
      this.others();
    }, { class: 'mfa-button mfa-link' });
  }

  /** Ask for the code of method `m`; text, call and email first send it. */
  prompt(m, sent = null) {
    const type = m.method_type;
    if (type === 'passkey') return this.passkeyPrompt();
    const destination = m.kind && m.kind.masked;
    const msg = h('p', { class: 'mfa-error', hidden: true });
    if (type !== 'authenticator_app' && !sent) {
      const send = button(t(type === 'call' ? 'call_me' : 'send_code'), null, { primary: true, type: 'submit' });
      const f = form(
        (f) =>
          this.busy(f, async () => {
            try {
              this.prompt(m, await this.client.sendCode(m.id));
            } catch (e) {
              this.showError(e, msg, send);
            }
          }),
        this.takeHeldNote(),
        h('p', {}, t(`verify_send_${type}`, { destination })),
        msg,
        h('div', { class: 'mfa-actions' }, send, this.otherButton()),
      );
      this.view(t('verify_title'), f, { focus: send });
      return;
    }
    const digits = type === 'authenticator_app' ? (m.kind.params && m.kind.params.digits) || 6 : 0;
    const hint = digits ? t('code_hint_app', { digits }) : t('code_hint_sent', { time: formatTime(sent.expires_at) });
    const code = codeField(t('code_label'), hint, digits, () => f.requestSubmit());
    const remember = this.rememberBox();
    const submit = button(t('verify'), null, { primary: true, type: 'submit' });
    const info = h('p', { class: 'mfa-note', hidden: true });
    const resend = digits
      ? null
      : button(t('send_new_code'), () =>
          this.busy(f, async () => {
            code.clear();
            try {
              const again = await this.client.sendCode(m.id);
              info.textContent = t('code_resent', { destination: again.masked_destination });
              info.hidden = false;
              this.say(info.textContent);
              code.input.value = '';
              code.input.focus();
            } catch (e) {
              this.showError(e, code, [submit, resend]);
            }
          }),
        );
    const f = form(
      (f) =>
        this.busy(f, async () => {
          const typed = code.input.value;
          if (!typed) return code.error(t('empty_code'));
          try {
            const mfa = await this.engine();
            const n = digits || Math.min(8, Math.max(6, typed.length));
            const normal = this.check(() => mfa.normalizeCode(typed, n));
            this.success(await this.client.verify(normal, m.id, remember.checked()));
          } catch (e) {
            this.showError(e, code, submit);
          }
        }),
      this.takeHeldNote(),
      h('p', {}, digits ? t('verify_app') : t(`sent_${type}`, { destination: sent.masked_destination })),
      code.wrap,
      info,
      remember.box,
      h('div', { class: 'mfa-actions' }, submit, resend, this.otherButton()),
    );
    this.view(t('verify_title'), f, { focus: code.input });
  }

  /**
   * A passkey or security key: one sign-in offers every key of the user, so
   * the browser lets the person choose; the server's engine checks the answer.
   */
  passkeyPrompt() {
    const msg = h('p', { class: 'mfa-error', hidden: true });
    const remember = this.rememberBox();
    const use = button(t('use_passkey_button'), null, { primary: true, type: 'submit' });
    const waiting = h('p', { class: 'mfa-note', hidden: true, role: 'status' }, t('passkey_sign_waiting'));
    const f = form(
      (f) =>
        this.busy(f, async () => {
          msg.hidden = true;
          try {
            const req = await this.client.passkeyOptions();
            const answer = await withCancel(waiting, (m) => this.say(m), (signal) => getPasskey(req.options, { signal }));
            this.success(await this.client.verifyPasskey(answer, remember.checked()));
          } catch (e) {
            this.showError(e, msg, use);
          }
        }),
      this.takeHeldNote(),
      h('p', {}, t('verify_passkey')),
      waiting,
      msg,
      remember.box,
      h('div', { class: 'mfa-actions' }, use, this.otherButton()),
    );
    this.view(t('verify_title'), f, { focus: use });
  }

  /** "Use another method": every usable method and recovery codes. */
  others() {
    // Every passkey is offered by one sign-in: one choice for all of them.
    const firstKey = this.methods.find((m) => m.method_type === 'passkey');
    const listed = this.methods.filter((m) => m.method_type !== 'passkey' || m === firstKey);
    const choices = listed.map((m) => {
      const d = { destination: m.kind && m.kind.masked };
      const label = m.method_type === 'authenticator_app' ? t('use_app') : t(`use_${m.method_type}`, d);
      return h('li', {}, button(label, () => {
        this.takeFocus();
        this.prompt(m);
      }, { class: 'mfa-button mfa-option' }));
    });
    if (this.recovery) {
      choices.push(h('li', {}, button(t('use_recovery'), () => {
        this.takeFocus();
        this.recoveryPrompt();
      }, { class: 'mfa-button mfa-option' })));
    }
    if (this.pass) {
      choices.push(h('li', {}, button(t('use_pass'), () => {
        this.takeFocus();
        this.passPrompt();
      }, { class: 'mfa-button mfa-option' })));
    }
    // Back returns to the step as it was (a code already sent, what was typed).
    const previous = this.step;
    const back = button(t('back'), () => {
      this.body.replaceChildren(previous);
      this.step = previous;
      previous.querySelector('.mfa-title').focus();
    });
    this.view(t('other_title'), [h('ul', { class: 'mfa-options' }, choices), h('div', { class: 'mfa-actions' }, back)]);
  }

  /** A one-time pass from the administrator instead of a method. */
  passPrompt() {
    const pass = field(
      t('pass_label'),
      { type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', class: 'mfa-input mfa-code mfa-recovery-code' },
      t('pass_hint'),
    );
    const submit = button(t('verify'), null, { primary: true, type: 'submit' });
    const f = form(
      (f) =>
        this.busy(f, async () => {
          const typed = pass.input.value.trim();
          if (!typed) return pass.error(t('empty_code'));
          try {
            this.success(await this.client.verifyOneTimePass(typed));
          } catch (e) {
            this.showError(e, pass, submit);
          }
        }),
      this.takeHeldNote(),
      pass.wrap,
      h('div', { class: 'mfa-actions' }, submit, this.otherButton()),
    );
    this.view(t('verify_title'), f, { focus: pass.input });
  }

  /** A recovery code instead of a method. */
  recoveryPrompt() {
    const code = field(
      t('recovery_label'),
      { type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', class: 'mfa-input mfa-code mfa-recovery-code' },
      t('recovery_hint'),
    );
    const remember = this.rememberBox();
    const submit = button(t('verify'), null, { primary: true, type: 'submit' });
    const f = form(
      (f) =>
        this.busy(f, async () => {
          const typed = code.input.value.trim();
          if (!typed) return code.error(t('empty_code'));
          try {
            this.success(await this.client.verifyRecovery(typed, remember.checked()));
          } catch (e) {
            this.showError(e, code, submit);
          }
        }),
      this.takeHeldNote(),
      code.wrap,
      remember.box,
      h('div', { class: 'mfa-actions' }, submit, this.otherButton()),
    );
    this.view(t('verify_title'), f, { focus: code.input });
  }

  /** The note about methods not offered, shown once, on the first prompt. */
  takeHeldNote() {
    const note = this.heldNote;
    this.heldNote = null;
    return note;
  }

  /**
   * The second factor is done. Unless the browser already has an answer (or
   * the page turned it off with `no-stay-signed-in`), ask "Stay signed in?":
   * Yes keeps the session cookie after the browser closes, No ends it with
   * the browser; "Don't show this again" keeps the answer on this browser.
   */
  success(res, notes = []) {
    if (res.remembered_device_until) {
      notes.push(h('p', { class: 'mfa-note' }, t('remembered_until', { time: formatTime(res.remembered_device_until) })));
    }
    // A recovery code was used (no method id): say how many are left.
    if (res.method_id == null && res.recovery_codes_left != null) {
      notes.push(h('p', { class: 'mfa-note' }, t('recovery_left', { count: res.recovery_codes_left })));
    }
    const ask = res.stay_signed_in === 'ask' && !this.hasAttribute('no-stay-signed-in') && !this.hasAttribute('reauth');
    if (!ask) return this.finish(res, notes, res.stay_signed_in === 'yes');
    const id = uid('stay');
    const box = h('input', { type: 'checkbox', id });
    const msg = h('p', { class: 'mfa-error', hidden: true });
    const answer = (stay) => (f) =>
      this.busy(f, async () => {
        try {
          await this.client.staySignedIn(stay, box.checked);
          this.takeFocus();
          this.finish(res, notes, stay);
        } catch (e) {
          this.showError(e, msg);
        }
      });
    const yes = button(t('yes'), null, { primary: true, type: 'submit' });
    const f = form(
      (f) => answer(true)(f),
      notes,
      h('p', {}, t('stay_intro')),
      h('div', { class: 'mfa-check' }, box, h('label', { for: id }, t('stay_dont_show'))),
      msg,
      h('div', { class: 'mfa-actions' }, yes, button(t('no'), () => answer(false)(f))),
    );
    this.view(t('stay_title'), f, { focus: yes });
    this.say(`${t('verified_title')}. ${t('stay_title')}`);
  }

  /** Signed in: the confirmations stay on screen, and the page hears of it. */
  finish(res, notes, staySignedIn) {
    this.view(t('verified_title'), [h('p', {}, t('verified_intro')), ...notes]);
    this.say(t('verified_title'));
    this.emit('mfa-verified', {
      user: res.user,
      amr: res.amr || [],
      methodId: res.method_id ?? null,
      rememberedDeviceUntil: res.remembered_device_until ?? null,
      sessionExpiresAt: res.session_expires_at ?? null,
      recoveryCodesLeft: res.recovery_codes_left ?? null,
      staySignedIn: !!staySignedIn,
    });
  }
}

/** A method as a person knows it: "authenticator app", "phone +44 ••••23". */
function methodName(m) {
  const masked = m.kind && m.kind.masked;
  return masked ? `${t(`noun_${m.method_type}`)} ${masked}` : t(`noun_${m.method_type}`);
}
