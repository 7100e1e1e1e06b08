// @mfa-wasm/widget: <mfa-enroll>, <mfa-verify>, <mfa-app-passwords> and
// <mfa-security-info>. Importing this module defines the four elements (once per page).
import { MfaEnrollElement } from './enroll.js';
import { MfaVerifyElement } from './verify.js';
import { MfaAppPasswordsElement } from './app-passwords.js';
import { MfaSecurityInfoElement } from './security-info.js';

export { MfaEnrollElement, MfaVerifyElement, MfaAppPasswordsElement, MfaSecurityInfoElement };
export { ApiClient, MfaError } from './api.js';
export { signInWithPasskey, passkeysSupported, autofillSupported, siteFits } from './passkey.js';
export { messages, describe } from './messages.js';
export { engine } from './engine.js';

for (const [name, cls] of [
  ['mfa-enroll', MfaEnrollElement],
  ['mfa-verify', MfaVerifyElement],
  ['mfa-app-passwords', MfaAppPasswordsElement],
  ['mfa-security-info', MfaSecurityInfoElement],
]) {
  if (!customElements.get(name)) customElements.define(name, cls);
}
