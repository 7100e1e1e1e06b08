// Recovery codes as they are shown, once: the list, copy and download, and
// the "I have saved my recovery codes" box that must be ticked to go on.
// Used at the end of "Set it up now" and by "Get new codes" in Security info.
import { h, uid, button, copyButton, download } from './dom.js';
import { t } from './messages.js';

/**
 * The codes' section. `say(message)` announces copy results.
 * @returns {{section: HTMLElement, checked: () => boolean, focus: () => void}}
 */
export function recoveryCodes(codes, user, say) {
  const saved = uid('saved');
  const text = codes.join('\n');
  const box = h('input', { type: 'checkbox', id: saved });
  const section = h(
    'section',
    { class: 'mfa-recovery', 'aria-labelledby': `${saved}-t` },
    h('h3', { id: `${saved}-t` }, t('recovery_title')),
    h('p', {}, t('recovery_intro')),
    h('ol', { class: 'mfa-codes', 'aria-label': t('recovery_list') }, codes.map((c) => h('li', {}, h('code', {}, c)))),
    h(
      'div',
      { class: 'mfa-actions' },
      copyButton(t('copy_codes'), () => text, say),
      button(t('download_codes'), () => download(t('recovery_file'), `${t('recovery_file_header', { user: user || '' })}\n\n${text}\n`)),
    ),
    h('div', { class: 'mfa-check' }, box, h('label', { for: saved }, t('saved_codes'))),
  );
  return { section, checked: () => box.checked, focus: () => box.focus() };
}
