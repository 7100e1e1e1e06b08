// The admin part of the server's API (`/api/v1/admin/…`). The signed-in
// admin's session cookie is the credential; the server asks the engine
// whether this user may administer.
import { ApiClient } from '../api.js';

const enc = encodeURIComponent;

/** `?a=1&b=2` of the parameters that are set. */
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v != null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export class AdminClient extends ApiClient {
  /** Users, paged by user id: `{users: [{user, state, revision, updated_at}], next}`. */
  users({ q, state, after, limit } = {}) {
    return this.request('GET', `/admin/users${query({ q, state, after, limit })}`);
  }
  user(id) { return this.request('GET', `/admin/users/${enc(id)}`); }
  setState(id, state) { return this.request('PUT', `/admin/users/${enc(id)}/state`, { state }); }
  setAdmin(id, admin) { return this.request('PUT', `/admin/users/${enc(id)}/admin`, { admin: !!admin }); }
  /** One of `require-reregistration`, `delete-app-passwords`, `restore-remembered-devices`, `unlock`, `reset`. */
  act(id, action) { return this.request('POST', `/admin/users/${enc(id)}/${enc(action)}`, {}); }
  oneTimePass(id) { return this.request('POST', `/admin/users/${enc(id)}/one-time-pass`, {}); }
  /** One action for many users: `{results: [{user, ok, error?}], failed}`. */
  bulk(users, action, state) {
    const body = { users, action };
    if (state) body.state = state;
    return this.request('POST', '/admin/bulk', body);
  }
  settings() { return this.request('GET', '/admin/settings'); }
  saveSettings(patch) { return this.request('PUT', '/admin/settings', patch); }
  /** Audit entries, newest first: `{entries: [{id, at, user, actor?, event, method?, detail}], next}`. */
  audit({ user, event, before, limit } = {}) {
    return this.request('GET', `/admin/audit${query({ user, event, before, limit })}`);
  }
}
