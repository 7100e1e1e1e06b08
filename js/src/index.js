// @mfa-wasm/widget: <mfa-enroll>, <mfa-verify> and <mfa-app-passwords>.
// Importing this module defines the three elements (once per page).
import { MfaEnrollElement } from './enroll.js';
import { MfaVerifyElement } from './verify.js';
import { MfaAppPasswordsElement } from './app-passwords.js';

export { MfaEnrollElement, MfaVerifyElement, MfaAppPasswordsElement };
export { ApiClient, MfaError } from './api.js';
export { messages, describe } from './messages.js';
export { engine } from './engine.js';

for (const [name, cls] of [
  ['mfa-enroll', MfaEnrollElement],
  ['mfa-verify', MfaVerifyElement],
  ['mfa-app-passwords', MfaAppPasswordsElement],
]) {
  if (!customElements.get(name)) customElements.define(name, cls);
}
