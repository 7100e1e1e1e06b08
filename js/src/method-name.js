// How a registered method is named to a person: its type as chosen at
// set-up, and where its codes go (a masked number or address, or the app).
import { t } from './messages.js';

/** The method list's type key: what the person chose at set-up. */
export function kindOf(m) {
  return m.method_type === 'text' || m.method_type === 'call' ? m.method_type : m.method_type === 'email' ? 'email' : 'authenticator_app';
}

/** Where codes go: the masked number or address, or the app. */
export function detailOf(m) {
  const k = m.kind || {};
  return k.masked || t('si_app_detail');
}

/** "Text message to +1 ••• ••• 0123", "Authenticator app". */
export function describeMethod(m) {
  const k = m.kind || {};
  return k.masked ? t('si_method_to', { method: t(`m_${kindOf(m)}`), where: k.masked }) : t(`m_${kindOf(m)}`);
}
