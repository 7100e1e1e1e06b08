// <mfa-enroll>: "Set it up now". Choose a method → authenticator app (QR code
// and manual key) / phone (text or call) / email → prove it with a code, or
// a passkey or security key created by the browser →
// done, with recovery codes to copy or download. Also the re-registration an
// administrator can require, and adding a further method later.
import { MfaElement, form } from './base.js';
import { h, uid, button, field, codeField, radios, copyButton } from './dom.js';
import { recoveryCodes } from './recovery-codes.js';
import { t, formatTime, driftText } from './messages.js';
import { showAppPassword } from './app-password-shown.js';
import { createPasskey, passkeysSupported, withCancel } from './passkey.js';

/** Region, calling code, name: the choices of the country list (any other number can be typed with its +). */
const COUNTRIES = [
  ['US', '+1', 'United States'], ['CA', '+1', 'Canada'], ['GB', '+44', 'United Kingdom'],
  ['IE', '+353', 'Ireland'], ['AU', '+61', 'Australia'], ['NZ', '+64', 'New Zealand'],
  ['IN', '+91', 'India'], ['DE', '+49', 'Germany'], ['FR', '+33', 'France'], ['ES', '+34', 'Spain'],
  ['IT', '+39', 'Italy'], ['NL', '+31', 'Netherlands'], ['BE', '+32', 'Belgium'],
  ['CH', '+41', 'Switzerland'], ['AT', '+43', 'Austria'], ['SE', '+46', 'Sweden'],
  ['NO', '+47', 'Norway'], ['DK', '+45', 'Denmark'], ['FI', '+358', 'Finland'],
  ['PL', '+48', 'Poland'], ['PT', '+351', 'Portugal'], ['CZ', '+420', 'Czechia'],
  ['GR', '+30', 'Greece'], ['TR', '+90', 'Türkiye'], ['IL', '+972', 'Israel'],
  ['AE', '+971', 'United Arab Emirates'], ['SA', '+966', 'Saudi Arabia'], ['EG', '+20', 'Egypt'],
  ['ZA', '+27', 'South Africa'], ['NG', '+234', 'Nigeria'], ['KE', '+254', 'Kenya'],
  ['BR', '+55', 'Brazil'], ['MX', '+52', 'Mexico'], ['AR', '+54', 'Argentina'],
  ['CL', '+56', 'Chile'], ['CO', '+57', 'Colombia'], ['JP', '+81', 'Japan'],
  ['KR', '+82', 'South Korea'], ['CN', '+86', 'China'], ['HK', '+852', 'Hong Kong'],
  ['TW', '+886', 'Taiwan'], ['SG', '+65', 'Singapore'], ['MY', '+60', 'Malaysia'],
  ['PH', '+63', 'Philippines'], ['ID', '+62', 'Indonesia'], ['TH', '+66', 'Thailand'],
  ['VN', '+84', 'Vietnam'], ['PK', '+92', 'Pakistan'], ['UA', '+380', 'Ukraine'],
];

/** A national number of each of the most used regions, as people write it there. */
const EXAMPLES = {
  US: '(201) 555-0123', CA: '(506) 234-5678', GB: '07700 900123', IE: '085 012 3456', AU: '0412 345 678',
  NZ: '021 123 4567', IN: '081234 56789', DE: '01512 3456789', FR: '06 12 34 56 78', ES: '612 34 56 78',
  IT: '312 345 6789', NL: '06 12345678', BR: '(11) 96123-4567', MX: '222 123 4567', JP: '090-1234-5678',
};

export class MfaEnrollElement extends MfaElement {
  async start() {
    const [session, methods] = await Promise.all([this.client.session(), this.client.methods()]);
    this.session = session;
    const next = (session.next && session.next.next) || 'continue';
    this.mode = next === 'register' || next === 'reregister' ? next : next === 'replace' && session.mfa ? 'replace' : 'add';
    if (this.mode === 'add' && !session.mfa) {
      this.view(t('enroll_title'), h('p', {}, t(next === 'continue' ? 'mfa_off' : 'wait_verify')));
      this.emit('mfa-next', { next });
      return;
    }
    const only = (this.getAttribute('methods') || '').split(/[\s,]+/).filter(Boolean);
    this.allowed = ((session.next || {}).allowed || methods.allowed || []).filter((m) => !only.length || only.includes(m));
    // `replaces`: change that phone (Security info's "Change"): straight to the number.
    this.replaces = this.mode === 'add' ? this.getAttribute('replaces') : null;
    if (this.replaces) {
      this.allowed = this.allowed.filter((m) => m === 'text' || m === 'call');
      return this.phone();
    }
    if (this.mode === 'register') this.moreInfo();
    else this.choose();
  }

  /** "More information required": the first sign-in of a user who must set up MFA. */
  moreInfo() {
    const go = button(t('set_up_now'), () => {
      this.takeFocus();
      this.choose();
    }, { primary: true });
    this.view(t('more_info_title'), [h('p', {}, t('more_info_intro')), h('div', { class: 'mfa-actions' }, go)], { focus: go });
  }

  /** Step 1: which method. */
  choose() {
    const has = (m) => this.allowed.includes(m);
    const options = [];
    if (has('authenticator_app')) {
      options.push({ value: 'app', label: t('m_authenticator_app'), hint: t('m_authenticator_app_hint') });
    }
    if (has('text') || has('call')) options.push({ value: 'phone', label: t('m_phone'), hint: t('m_phone_hint') });
    if (has('email')) options.push({ value: 'email', label: t('m_email'), hint: t('m_email_hint') });
    // Only where the browser can create one (a secure context with WebAuthn).
    if (has('passkey') && passkeysSupported()) {
      options.push({ value: 'passkey', label: t('m_passkey'), hint: t('m_passkey_hint') });
    }
    const choice = radios(t('choose_legend'), uid('method'), options, options[0] && options[0].value);
    const msg = h('p', { class: 'mfa-error', hidden: true });
    const intro = { register: 'enroll_intro', reregister: 'reenroll_intro', replace: 'replace_now', add: 'add_intro' }[this.mode];
    const f = form(
      (f) =>
        this.busy(f, async () => {
          const v = choice.value();
          try {
            if (v === 'app') await this.authenticator();
            else if (v === 'phone') this.phone();
            else if (v === 'email') this.email();
            else if (v === 'passkey') this.passkey();
          } catch (e) {
            this.showError(e, msg);
          }
        }),
      h('p', {}, t(intro)),
      choice.set,
      msg,
      h('div', { class: 'mfa-actions' }, button(t('next'), null, { primary: true, type: 'submit' })),
    );
    const title = { register: 'enroll_title', reregister: 'reenroll_title', replace: 'replace_title', add: 'add_title' }[this.mode];
    this.view(t(title), f, { focus: choice.set.querySelector('input') });
  }

  backButton() {
    return button(t('back'), () => {
      this.takeFocus();
      if (this.replaces) this.phone();
      else this.choose();
    });
  }

  /** Authenticator app: QR code, manual key, then the code the app shows. */
  async authenticator() {
    const [reg, mfa] = await Promise.all([
      this.sensitive(() => this.client.beginAuthenticator(this.getAttribute('account') || undefined)),
      this.engine(),
    ]);
    const uri = reg.otpauth_uri;
    const info = this.check(() => mfa.parseOtpauth(uri));
    const qr = h('div', { class: 'mfa-qr' });
    // The SVG comes from the engine, which escapes the label it puts inside.
    qr.innerHTML = this.check(() => mfa.qrSvg(uri, t('qr_label', { issuer: info.issuer || reg.issuer, account: info.account })));
    const key = info.manualKey;
    const manual = h(
      'details',
      { class: 'mfa-manual' },
      h('summary', {}, t('cant_scan')),
      h('p', {}, t('manual_intro')),
      h(
        'dl',
        {},
        h('dt', {}, t('manual_account')), h('dd', {}, info.account),
        h('dt', {}, t('manual_key')),
        h('dd', {}, h('code', { class: 'mfa-key' }, key), ' ',
          copyButton(t('copy_key'), () => key.replace(/\s+/g, ''), (m) => this.say(m))),
        h('dt', {}, t('manual_type')), h('dd', {}, t('manual_type_value')),
      ),
    );
    const submit = button(t('verify'), null, { primary: true, type: 'submit' });
    const code = codeField(t('code_label'), t('code_hint_app', { digits: info.digits }), info.digits, () => f.requestSubmit());
    const f = form(
      (f) =>
        this.busy(f, async () => {
          const typed = code.input.value;
          if (!typed) return code.error(t('empty_code'));
          try {
            const normal = this.check(() => mfa.normalizeCode(typed, info.digits));
            const res = await this.client.confirm(normal);
            this.done('authenticator_app', res, res.clock_skew_steps != null ? res.clock_skew_steps * (info.period || 30) : null);
          } catch (e) {
            // `clock_drift`: the code is from a phone whose clock is off; the message says so.
            this.showError(e, code, submit);
          }
        }),
      h(
        'ol',
        { class: 'mfa-steps' },
        h('li', {}, t('app_step1')),
        h('li', {}, t('app_step2'), qr, manual),
        h('li', {}, t('app_step3')),
      ),
      info.warnings.map((w) => h('p', { class: 'mfa-note' }, w)),
      code.wrap,
      h('div', { class: 'mfa-actions' }, submit, this.backButton()),
    );
    this.view(t('app_title'), f, { focus: code.input });
  }

  /** Phone: country and number, text or call. */
  phone() {
    const region = (/-([A-Z]{2})\b/.exec(navigator.language || '') || [])[1];
    const wanted = this.getAttribute('default-country') || region || 'US';
    const sel = uid('cc');
    const select = h(
      'select',
      { id: sel, class: 'mfa-input', autocomplete: 'tel-country-code' },
      COUNTRIES.map(([r, cc, name]) =>
        h('option', { value: `${r}${cc}`, selected: r === wanted || cc === wanted }, `${name} (${cc})`),
      ),
    );
    const number = field(t('number'), { type: 'tel', autocomplete: 'tel-national', inputmode: 'tel' }, t('number_hint'));
    // The example in the hint is a number of the chosen country.
    const hint = number.wrap.querySelector('.mfa-hint');
    const example = () => {
      const r = select.value.replace(/[^A-Z]/g, '');
      hint.textContent = EXAMPLES[r] ? t('number_hint_example', { example: EXAMPLES[r] }) : t('number_hint');
    };
    select.addEventListener('change', example);
    example();
    const channels = ['text', 'call'].filter((c) => this.allowed.includes(c));
    const channel = radios(
      t('channel_legend'),
      uid('ch'),
      channels.map((c) => ({ value: c, label: t(`channel_${c}`) })),
      channels[0],
    );
    const f = form(
      (f) =>
        this.busy(f, async () => {
          if (!number.input.value.trim()) return number.error(t('empty_field'));
          try {
            const mfa = await this.engine();
            const cc = select.value.replace(/^[A-Z]+/, '');
            const phone = this.check(() => mfa.checkPhone(cc, number.input.value));
            const how = channel.value();
            const reg = await this.sensitive(() =>
              this.replaces
                ? this.client.changePhone(this.replaces, phone.countryCode, phone.national, how)
                : this.client.beginPhone(phone.countryCode, phone.national, how),
            );
            this.codeStep(reg, how);
          } catch (e) {
            this.showError(e, number);
          }
        }),
      h('p', {}, t('phone_intro')),
      h('div', { class: 'mfa-field' }, h('label', { for: sel, class: 'mfa-label' }, t('country')), select),
      number.wrap,
      channels.length > 1 ? channel.set : null,
      h('div', { class: 'mfa-actions' }, button(t('next'), null, { primary: true, type: 'submit' }), this.replaces ? null : this.backButton()),
    );
    this.view(t(this.replaces ? 'phone_change_title' : 'phone_title'), f, { focus: number.input });
  }

  /** Email: the address, then the code sent there. */
  email() {
    const address = field(t('email_label'), { type: 'email', autocomplete: 'email', spellcheck: 'false' });
    const f = form(
      (f) =>
        this.busy(f, async () => {
          if (!address.input.value.trim()) return address.error(t('empty_field'));
          try {
            const mfa = await this.engine();
            const checked = this.check(() => mfa.checkEmail(address.input.value));
            this.codeStep(await this.sensitive(() => this.client.beginEmail(checked)), 'email');
          } catch (e) {
            this.showError(e, address);
          }
        }),
      h('p', {}, t('email_intro')),
      address.wrap,
      h('div', { class: 'mfa-actions' }, button(t('next'), null, { primary: true, type: 'submit' }), this.backButton()),
    );
    this.view(t('email_title'), f, { focus: address.input });
  }

  /**
   * A passkey or security key: an optional name, then the browser's own
   * steps. The server's engine wrote the options and checks the answer.
   */
  passkey() {
    const name = field(t('passkey_name_label'), { type: 'text', autocomplete: 'off', maxlength: '64', spellcheck: 'false' }, t('passkey_name_hint'));
    const submit = button(t('passkey_create'), null, { primary: true, type: 'submit' });
    const waiting = h('p', { class: 'mfa-note', hidden: true, role: 'status' }, t('passkey_waiting'));
    const f = form(
      (f) =>
        this.busy(f, async () => {
          name.clear();
          try {
            const reg = await this.sensitive(() => this.client.beginPasskey());
            const answer = await withCancel(waiting, (m) => this.say(m), (signal) => createPasskey(reg.options, signal));
            this.done('passkey', await this.client.confirmPasskey(answer, name.input.value.trim()), null);
          } catch (e) {
            this.showError(e, name, submit);
          }
        }),
      h('p', {}, t('passkey_intro')),
      name.wrap,
      waiting,
      h('div', { class: 'mfa-actions' }, submit, this.backButton()),
    );
    this.view(t('passkey_title'), f, { focus: submit });
  }

  /** The code sent by text, call or email, with "send a new code". */
  codeStep(reg, how) {
    const sent = h('p', {}, t(`sent_${how}`, { destination: reg.masked_destination }));
    const info = h('p', { class: 'mfa-note', hidden: true });
    const submit = button(t('verify'), null, { primary: true, type: 'submit' });
    const code = codeField(t('code_label'), t('code_hint_sent', { time: formatTime(reg.expires_at) }), 6, () =>
      f.requestSubmit(),
    );
    const resend = button(t('send_new_code'), () =>
      this.busy(f, async () => {
        code.clear();
        try {
          const again = await this.client.resend();
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
            const normal = this.check(() => mfa.normalizeCode(typed, digitsOf(typed)));
            this.done(how, await this.client.confirm(normal), null);
          } catch (e) {
            this.showError(e, code, submit);
          }
        }),
      sent,
      code.wrap,
      info,
      h('div', { class: 'mfa-actions' }, submit, resend, this.backButton()),
    );
    this.view(t('code_title'), f, { focus: code.input });
    if (how === 'text') webOtp(code.input, f);
  }

  /** Proven: the method counts. Recovery codes, when issued, are shown once. */
  done(type, res, skewSeconds) {
    const codes = res.recovery_codes || null;
    this.emit('mfa-enrolled', {
      methodId: res.method_id,
      type,
      methods: res.methods,
      recoveryCodesIssued: !!codes,
      clockSkewSteps: res.clock_skew_steps ?? null,
    });
    const intro = () => h('p', {}, this.replaces ? t('phone_changed') : doneText(type, res));
    const content = [intro()];
    if (skewSeconds != null && Math.abs(skewSeconds) >= 60) {
      content.push(h('p', { class: 'mfa-note' }, driftText(skewSeconds)));
    }
    const msg = h('p', { class: 'mfa-error', hidden: true });
    const saved = codes ? recoveryCodes(codes, this.session && this.session.user, (m) => this.say(m)) : null;
    if (saved) content.push(saved.section);
    const finish = () => {
      if (saved && !saved.checked()) {
        msg.textContent = t('saved_codes_first');
        msg.hidden = false;
        this.alarm.textContent = msg.textContent;
        saved.focus();
        return;
      }
      msg.hidden = true;
      this.takeFocus();
      if (firstAppPassword) this.firstAppPassword(msg, () => this.allDone(type, res, intro));
      else this.allDone(type, res, intro);
    };
    // "Set it up now" ends, where the organisation allows them, with an app
    // password for Outlook, Apple Mail, etc. (not when adding a method later).
    const firstAppPassword = (this.mode === 'register' || this.mode === 'reregister') && !!(this.session && this.session.app_passwords_allowed);
    content.push(
      msg,
      h(
        'div',
        { class: 'mfa-actions' },
        button(t(firstAppPassword ? 'next' : 'continue'), finish, { primary: true }),
        codes || firstAppPassword || this.replaces ? null : this.anotherButton(),
      ),
    );
    this.view(t('done_title'), content);
    this.say(t('done_title'));
  }

  /** The last screen: the method counts, and the host page may move on. */
  allDone(type, res, intro) {
    this.emit('mfa-done', { methods: res.methods });
    this.view(t('done_title'), [intro(), this.replaces ? null : h('div', { class: 'mfa-actions' }, this.anotherButton())]);
  }

  /** "Next": the first app password, shown once, then "Done". */
  async firstAppPassword(msg, then) {
    try {
      const res = await this.sensitive(() => this.client.createAppPassword(t('ap_first_name')));
      await showAppPassword(this, res, { title: t('ap_first_title'), intro: t('ap_first_intro'), onDone: then });
    } catch (e) {
      // Not fatal: the method is set up; the person can create one later.
      this.showError(e, msg);
      this.view(t('done_title'), [h('p', {}, t('ap_first_failed')), msg, h('div', { class: 'mfa-actions' }, button(t('continue'), then, { primary: true }))]);
    }
  }

  anotherButton() {
    return button(t('add_another'), () => {
      this.takeFocus();
      this.mode = 'add';
      this.refresh();
    });
  }
}

/** "Your phone is set up", and whether it is now what sign-in asks for. */
function doneText(type, res) {
  const method = t(`noun_${type}`);
  const list = res.methods || [];
  const mine = list.find((m) => m.id === res.method_id);
  const current = list.find((m) => m.is_default);
  if (!mine || mine.is_default || !current) return t('done_intro', { method });
  return t('done_intro_not_default', { method, current: t(`noun_${current.method_type}`) });
}

/** Delivered codes are 6 to 8 digits; the length typed decides which (the server checks). */
function digitsOf(typed) {
  const n = typed.replace(/\D+/g, '').length;
  return n >= 6 && n <= 8 ? n : 6;
}


/** Where the browser can read the code from the text message (WebOTP), fill it in. */
function webOtp(input, f) {
  if (!('OTPCredential' in window) || !navigator.credentials) return;
  const stop = new AbortController();
  navigator.credentials
    .get({ otp: { transport: ['sms'] }, signal: stop.signal })
    .then((otp) => {
      if (otp && otp.code && input.isConnected && !input.value) {
        input.value = otp.code;
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }
    })
    .catch(() => {});
  // Stop listening when the step goes away.
  new MutationObserver((_, obs) => {
    if (!f.isConnected) {
      stop.abort();
      obs.disconnect();
    }
  }).observe(document.body, { childList: true, subtree: true });
}
