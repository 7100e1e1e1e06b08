// <mfa-admin-settings>: the service settings tab of seed 004. App passwords
// allowed or not, the verification options, how long devices are trusted,
// the lockout threshold, the code lifetime and the re-verification window,
// and for passkeys: user verification and the security-key models allowed.
// The server's engine validates the policy; its message is shown beside the
// field it names.
import { form } from '../element.js';
import { h, uid, button, field, radios } from '../dom.js';
import { t } from '../messages.js';
import { MfaError } from '../api.js';
import { AdminElement } from './base.js';

const METHODS = ['call', 'text', 'authenticator_app', 'email', 'passkey'];
/** The number fields: policy field, label, hint. */
const NUMBERS = [
  ['remember_device_days', 'as_remember', 'as_remember_hint'],
  ['lockout_threshold', 'as_lockout', 'as_lockout_hint'],
  ['code_lifetime_secs', 'as_code_lifetime', 'as_code_lifetime_hint'],
  ['reauth_window_secs', 'as_reauth', 'as_reauth_hint'],
];

export class MfaAdminSettingsElement extends AdminElement {
  async start() {
    this.show(await this.client.settings());
  }

  show(s, notice = null) {
    const content = [];
    if (notice) content.push(h('p', { class: 'mfa-confirm' }, notice));
    const ap = radios(t('as_app_passwords'), uid('ap'), [
      { value: 'allow', label: t('as_ap_allow') },
      { value: 'deny', label: t('as_ap_deny') },
    ], s.app_passwords_allowed ? 'allow' : 'deny');

    const methodsError = h('p', { class: 'mfa-error', hidden: true });
    const boxes = METHODS.map((m) => {
      const id = uid('m');
      const input = h('input', { type: 'checkbox', id, value: m, checked: (s.allowed_methods || []).includes(m) });
      return { m, input, wrap: h('div', { class: 'mfa-check' }, input, h('label', { for: id }, t(`as_m_${m}`))) };
    });
    const methods = h(
      'fieldset',
      { class: 'mfa-choices' },
      h('legend', { class: 'mfa-label' }, t('as_methods')),
      h('p', { class: 'mfa-hint' }, t('as_methods_hint')),
      boxes.map((b) => b.wrap),
      methodsError,
    );
    for (const b of boxes) b.input.addEventListener('change', () => (methodsError.hidden = true));

    const keys = passkeyFields(s.passkeys || {});
    const numbers = Object.fromEntries(
      NUMBERS.map(([key, label, hint]) => [key, field(t(label), { type: 'number', inputmode: 'numeric', step: '1', value: s[key], name: key }, t(hint))]),
    );
    const save = button(t('as_save'), null, { primary: true, type: 'submit' });
    const generalError = h('p', { class: 'mfa-error', hidden: true });
    content.push(
      form(
        (f) =>
          this.busy(f, async () => {
            // An earlier "saved" is not this attempt's answer.
            for (const old of this.step.querySelectorAll('.mfa-confirm')) old.remove();
            const patch = { app_passwords_allowed: ap.value() === 'allow' };
            patch.allowed_methods = boxes.filter((b) => b.input.checked).map((b) => b.m);
            if (!patch.allowed_methods.length) return this.showError(new MfaError('pick', t('as_pick_method')), methodsError);
            for (const [key] of NUMBERS) {
              const raw = numbers[key].input.value.trim();
              if (!/^\d+$/.test(raw)) return this.showError(new MfaError('number', t('as_whole_number')), numbers[key]);
              patch[key] = Number(raw);
            }
            patch.passkeys = keys.patch();
            try {
              const saved = await this.client.saveSettings(patch);
              let text = t('as_saved');
              const affected = (saved.users_to_replace || []).length;
              if (affected) text += ` ${t('as_replace', { n: affected })}`;
              this.emit('mfa-admin-settings-saved', { settings: saved });
              this.takeFocus();
              this.show(saved, text);
              this.say(text);
            } catch (e) {
              const [target, text] = placeOf(e, { ...numbers, 'passkeys.allowed_aaguids': keys.aaguids }, methodsError, generalError);
              this.showError(text ? new MfaError('invalid_setting', text, { status: e.status }) : e, target);
            }
          }),
        ap.set,
        methods,
        keys.set,
        Object.values(numbers).map((n) => n.wrap),
        generalError,
        h('div', { class: 'mfa-actions' }, save),
      ),
    );
    this.view(t('as_title'), content);
  }
}

/**
 * Where the server's refusal belongs, and what to say there: the engine
 * names the policy field it refused ("invalid policy: remember_device_days
 * must be 1 to 365, not 0"), so beside that field it reads "Must be 1 to
 * 365, not 0".
 */
function placeOf(e, numbers, methodsError, generalError) {
  const m = /^invalid policy: ([a-z_.]+):? (.+)$/s.exec((e && e.message) || '');
  if (e && e.code === 'delivery_not_configured') return [methodsError, null];
  if (!m) return [generalError, null];
  const [, name, rest] = m;
  const text = rest.charAt(0).toUpperCase() + rest.slice(1);
  if (numbers[name]) return [numbers[name], text];
  if (name === 'allowed_methods' || name.startsWith('passkeys.')) return [methodsError, text];
  return [generalError, null];
}

/**
 * Passkeys and security keys: whether the key must verify the person (PIN
 * or biometrics), and which models may be registered (AAGUIDs, one per
 * line; none: any). The site they belong to is the server's configuration.
 */
function passkeyFields(p) {
  const uvId = uid('uv');
  const uv = h('input', { type: 'checkbox', id: uvId, checked: !!p.require_user_verification });
  const aaguids = field(
    t('as_pk_aaguids'),
    { tag: 'textarea', rows: 3, spellcheck: 'false', autocapitalize: 'off', name: 'allowed_aaguids' },
    t('as_pk_aaguids_hint'),
  );
  aaguids.input.value = (p.allowed_aaguids || []).join('\n');
  const set = h(
    'fieldset',
    { class: 'mfa-choices' },
    h('legend', { class: 'mfa-label' }, t('as_pk_title')),
    h('p', { class: 'mfa-hint' }, p.rp_id ? t('as_pk_site', { site: p.rp_id }) : t('as_pk_no_site')),
    h('div', { class: 'mfa-check' }, uv, h('label', { for: uvId }, t('as_pk_uv'))),
    aaguids.wrap,
  );
  return {
    set,
    aaguids,
    patch: () => ({
      require_user_verification: uv.checked,
      allowed_aaguids: aaguids.input.value.split(/[\s,]+/).filter(Boolean),
    }),
  };
}
