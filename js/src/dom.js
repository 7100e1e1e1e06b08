// Small DOM helpers: elements are built with `h`, text is always text (never
// parsed as HTML), and every input comes with its label, hint and error.
import { t } from './messages.js';

let serial = 0;
/** A page-unique id for `for`/`aria-describedby` links. */
export const uid = (prefix) => `mfa-${prefix}-${++serial}`;

/**
 * Create an element. Attributes: `on…` functions become listeners, `true`
 * becomes an empty attribute, `false`/`null` are skipped; children may be
 * strings, nodes, arrays or nothing.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return el;
}

/** A button; `primary` styles it as the main action. */
export function button(label, onclick, { primary = false, type = 'button', ...attrs } = {}) {
  return h('button', { type, class: primary ? 'mfa-button mfa-primary' : 'mfa-button', onclick, ...attrs }, label);
}

/**
 * A labelled input with a hint and an error line. Returns the wrapper and
 * `input`, `error(text)` and `clear()`.
 */
export function field(label, attrs, hint) {
  const id = uid('f');
  const hintId = hint ? `${id}-hint` : null;
  const errId = `${id}-err`;
  // `tag: 'textarea'` for text of several lines.
  const { tag = 'input', ...rest } = attrs;
  const input = h(tag, {
    id,
    class: 'mfa-input',
    'aria-describedby': [hintId, errId].filter(Boolean).join(' '),
    ...rest,
  });
  const err = h('p', { id: errId, class: 'mfa-error', hidden: true });
  const wrap = h(
    'div',
    { class: 'mfa-field' },
    h('label', { for: id, class: 'mfa-label' }, label),
    hint ? h('p', { id: hintId, class: 'mfa-hint' }, hint) : null,
    input,
    err,
  );
  const f = {
    wrap,
    input,
    error(text) {
      err.textContent = text;
      err.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    },
    clear() {
      err.textContent = '';
      err.hidden = true;
      input.removeAttribute('aria-invalid');
    },
  };
  input.addEventListener('input', () => f.clear());
  return f;
}

/**
 * The one-time-code input: numeric keyboard, `autocomplete="one-time-code"`,
 * digits only. When a whole code arrives in one `input` event that is not a
 * key press (autofill from a text message, a password manager, a paste, a
 * keyboard's suggestion), `onWhole` is called so the form submits by itself.
 */
export function codeField(label, hint, digits, onWhole) {
  const f = field(
    label,
    {
      type: 'text',
      name: 'one-time-code',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      autocapitalize: 'off',
      spellcheck: 'false',
      maxlength: '16',
      class: 'mfa-input mfa-code',
    },
    hint,
  );
  f.input.addEventListener('input', (ev) => {
    const digitsOnly = f.input.value.replace(/\D+/g, '');
    if (digitsOnly !== f.input.value) f.input.value = digitsOnly;
    // A key press adds one character; anything else that completes the code
    // at once (autofill, a paste, a keyboard's code suggestion) submits it.
    const keyPress = ev.inputType === 'insertText' && (ev.data || '').length <= 1;
    const removal = (ev.inputType || '').startsWith('delete');
    if (onWhole && !keyPress && !removal && digitsOnly.length >= (digits || 6)) onWhole();
  });
  return f;
}

/** A group of radio buttons in a fieldset; returns the fieldset and `value()`. */
export function radios(legend, name, options, checked) {
  const set = h('fieldset', { class: 'mfa-choices' }, h('legend', { class: 'mfa-label' }, legend));
  for (const o of options) {
    const id = uid('r');
    const hintId = o.hint ? `${id}-hint` : null;
    set.append(
      h(
        'div',
        { class: 'mfa-choice' },
        h('input', { type: 'radio', id, name, value: o.value, checked: o.value === checked, 'aria-describedby': hintId }),
        h('label', { for: id }, o.label),
        o.hint ? h('p', { id: hintId, class: 'mfa-hint' }, o.hint) : null,
      ),
    );
  }
  return { set, value: () => (set.querySelector('input:checked') || {}).value };
}

/** Copy text to the clipboard; true when it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Older browsers, or a page without clipboard permission: the selection way.
    const area = h('textarea', { readonly: true, class: 'mfa-offscreen', 'aria-hidden': 'true' });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

/**
 * A copy button for `text()`. The outcome shows beside the button for a few
 * seconds and is reported through `say(message)` for screen readers.
 */
export function copyButton(label, text, say, attrs) {
  const status = h('span', { class: 'mfa-done', 'aria-hidden': 'true', hidden: true });
  let timer = 0;
  const b = button(
    label,
    async () => {
      const ok = await copyText(text());
      const message = t(ok ? 'copied' : 'copy_failed');
      status.textContent = t(ok ? 'copied_short' : 'copy_failed');
      status.classList.toggle('mfa-failed', !ok);
      status.hidden = false;
      clearTimeout(timer);
      timer = setTimeout(() => (status.hidden = true), 6000);
      say(message);
    },
    attrs,
  );
  return h('span', { class: 'mfa-copy' }, b, status);
}

/** Offer `text` as a downloaded file. */
export function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = h('a', { href: url, download: filename, class: 'mfa-offscreen' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
