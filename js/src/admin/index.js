// @mfa-wasm/widget/admin: <mfa-admin-users>, <mfa-admin-settings> and
// <mfa-admin-audit>, the admin portal as elements a company embeds in its own
// admin console. Importing this module defines them (once per page). They
// do not load the wasm engine: the server decides every admin rule.
import { MfaAdminUsersElement } from './users.js';
import { MfaAdminSettingsElement } from './settings.js';
import { MfaAdminAuditElement } from './audit.js';

export { MfaAdminUsersElement, MfaAdminSettingsElement, MfaAdminAuditElement };
export { AdminClient } from './api.js';
export { ApiClient, MfaError } from '../api.js';
export { messages, describe } from '../messages.js';

for (const [name, cls] of [
  ['mfa-admin-users', MfaAdminUsersElement],
  ['mfa-admin-settings', MfaAdminSettingsElement],
  ['mfa-admin-audit', MfaAdminAuditElement],
]) {
  if (!customElements.get(name)) customElements.define(name, cls);
}
