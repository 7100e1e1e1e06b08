// How a registered method is named to a person: its type as chosen at
// set-up, and where its codes go (a masked number or address, or the app);
// a passkey by the name it was given.
import { t } from './messages.js';

/** The method list's type key: what the person chose at set-up. */
export function kindOf(m) {
  return ['text', 'call', 'email', 'passkey'].includes(m.method_type) ? m.method_type : 'authenticator_app';
}

/** Where codes go: the masked number or address, or the app. */
export function detailOf(m) {
  const k = m.kind || {};
  if (m.method_type === 'passkey') return k.name || t('si_passkey_detail');
  return k.masked || t('si_app_detail');
}

/** "Text message to +1 ••• ••• 0123", "Authenticator app". */
export function describeMethod(m) {
  const k = m.kind || {};
  if (m.method_type === 'passkey') return k.name ? `${t('m_passkey')}: ${k.name}` : t('m_passkey');
  return k.masked ? t('si_method_to', { method: t(`m_${kindOf(m)}`), where: k.masked }) : t(`m_${kindOf(m)}`);
}
