// Every word the widget shows, in one place. Hosts translate or reword by
// assigning to `messages` before the elements render (`{name}` is filled in).

/** The texts, by key. */
export const messages = {
  // Errors a person can meet, by the server's or engine's code.
  network: 'We can’t reach the server. Check your internet connection and try again.',
  server: 'Something went wrong on our side. Try again in a moment.',
  engine: 'Part of this page didn’t load. Reload the page and try again.',
  not_signed_in: 'You’re not signed in, or your sign-in expired. Sign in again with your user name and password.',
  mfa_required: 'Verify your identity with your second method first.',
  reauth_required: 'For this change, verify your identity again with your second method, then try again.',
  token_revoked: 'You were signed out, for example after a change to your account. Sign in again.',
  wrong_code: 'That code isn’t right. Check it and try again.',
  malformed_code: 'Enter the whole code: {digits} digits.',
  replay: 'That code was already used. Wait for your app to show a new code, then enter it.',
  code_expired: 'That code has expired. Choose “Send a new code” and enter the new one.',
  attempts_exhausted: 'Too many wrong tries with this code. Choose “Send a new code” to get another.',
  no_active_code: 'No code has been sent yet. Choose “Send code” first.',
  retry_later: 'Too many wrong codes in a row. You can try again in {wait}.',
  locked: 'Too many failed attempts: this method is locked until {time}. Use another method, or ask your administrator to unlock it.',
  delivery_failed: 'We couldn’t send the code. Try again, or choose another method.',
  registration_expired: 'Setting up took too long. Start again.',
  no_pending_registration: 'This set-up is no longer in progress. Start again.',
  method_not_allowed: 'Your organisation doesn’t allow this method. Choose another one.',
  unknown_method: 'This method is no longer registered. Choose another one.',
  duplicate_name: 'You already have an app password with this name. Choose another name.',
  app_passwords_disabled: 'Your organisation doesn’t allow creating app passwords.',
  last_method: 'You can’t delete your only sign-in method. Add another one first, then delete this one.',
  wrong_recovery_code: 'That recovery code isn’t valid, or it was already used.',
  passkey_cancelled: 'The passkey request was cancelled or timed out. Try again, or choose another method.',
  passkey_already_registered: 'This passkey or security key is already registered for your account. Use another one.',
  passkey_wrong_site: 'Passkeys don’t work at this address of the site. Open the sign-in page at its usual address and try again.',
  passkey_unsupported: 'This browser can’t use passkeys. Try another browser, or choose another method.',
  passkey_failed: 'The passkey didn’t work. Try again, or choose another method.',
  passkey_refused: 'This passkey wasn’t accepted. Try again, or choose another method.',
  passkey_refused_unknown_credential: 'That passkey isn’t registered for your account. Choose another one, or use another method.',
  passkey_refused_sign_count_regressed: 'This security key looks like a copy of the one you registered, so it wasn’t accepted. Use your own key, or tell your administrator.',
  passkey_refused_authenticator_not_allowed: 'Your organisation doesn’t allow this model of security key. Use one your organisation provides.',
  passkey_refused_user_not_verified: 'Your organisation requires the key to check it’s you (PIN, fingerprint or face). Set that up on the key and try again.',
  passkey_refused_ceremony_expired: 'That passkey request expired. Try again.',
  passkey_refused_challenge_mismatch: 'That passkey request expired. Try again.',
  passkey_refused_origin_not_allowed: 'Passkeys don’t work at this address of the site. Open the sign-in page at its usual address and try again.',
  passkey_refused_ceremony_used: 'That passkey sign-in was already used. Try again.',
  passkey_refused_password_required: 'Sign in with your user name and password this time: your administrator asked you to set up your security info again.',
  passkey_refused_credential_already_registered: 'This passkey or security key is already registered for your account. Use another one.',
  malformed_recovery_code: 'A recovery code is 12 letters and digits, like abcd-efgh-jkmn.',
  busy: 'Your account is being changed elsewhere right now. Try again.',
  password_locked: 'Too many wrong passwords. You can try again in {wait}.',
  send_limit: 'Wait before asking for another code: you can ask again in {wait}.',
  locked_out: 'Too many failed attempts in a row: sign-in is locked. Ask your administrator to unlock your account.',
  invalid_credentials: 'The user name or password isn’t right.',
  empty_code: 'Enter the code.',
  empty_field: 'Fill this in.',
  can_retry: 'You can try again now.',

  // Shared.
  loading: 'Loading…',
  back: 'Back',
  next: 'Next',
  cancel: 'Cancel',
  reauth_title: 'Verify it’s you',
  reauth_intro: 'This change needs a recent verification. Verify your identity again to continue.',
  copy: 'Copy',
  copied: 'Copied to the clipboard.',
  check_field: 'Check the {field}: {why}',
  field_email: 'email address',
  field_expires_at: 'expiry date',
  field_scopes: 'scopes',
  field_name: 'name',
  copied_short: '✓ Copied',
  copy_failed: 'Couldn’t copy. Select the text and copy it yourself.',
  try_again: 'Try again',
  send_new_code: 'Send a new code',
  code_resent: 'A new code is on its way to {destination}. Only the newest code works.',
  code_label: 'Code',
  code_hint_app: 'The {digits}-digit code shown in your authenticator app.',
  code_hint_sent: 'The code in the message. It expires at {time}.',
  sign_in_again: 'Sign in again',

  // Method names.
  m_authenticator_app: 'Authenticator app',
  m_text: 'Text message',
  m_call: 'Phone call',
  m_email: 'Email',
  m_passkey: 'Passkey or security key',
  m_authenticator_app_hint: 'Get codes from an app such as Microsoft Authenticator or Google Authenticator.',
  m_phone: 'Phone',
  m_phone_hint: 'Get a code by text message or phone call.',
  m_email_hint: 'Get a code by email. Use an address outside your organisation.',
  m_passkey_hint: 'Use your fingerprint, face, screen lock or a security key. It can’t be used on a fake site.',

  // <mfa-enroll>
  enroll_title: 'Keep your account secure',
  more_info_title: 'More information required',
  more_info_intro: 'Your organisation needs more information to keep your account secure.',
  set_up_now: 'Set it up now',
  enroll_intro: 'Your organisation requires a second way to prove it’s you. Choose one: it takes a minute.',
  reenroll_title: 'Set up your security info again',
  reenroll_intro: 'Your administrator asked you to set up your sign-in methods again. Your earlier methods stop working once you finish.',
  add_title: 'Add a sign-in method',
  add_intro: 'Choose another way to prove it’s you, in case your usual one isn’t at hand.',
  choose_legend: 'Which method do you want to use?',
  app_title: 'Set up your authenticator app',
  app_step1: 'Install an authenticator app on your phone if you don’t have one.',
  app_step2: 'In the app, add an account and scan this QR code.',
  app_step3: 'Enter the code the app shows.',
  qr_label: 'QR code for {issuer}: {account}',
  cant_scan: 'Can’t scan the code?',
  manual_intro: 'Choose to enter a key in your app, then type:',
  manual_account: 'Account',
  manual_key: 'Key',
  manual_type: 'Type',
  manual_type_value: 'Time-based',
  copy_key: 'Copy key',
  phone_title: 'Set up your phone',
  phone_change_title: 'Change your phone number',
  phone_changed: 'Your phone number is changed: codes now go to the new number.',
  phone_intro: 'We’ll send a code to prove this phone is yours.',
  country: 'Country or region',
  number: 'Phone number',
  number_hint: 'Without the country code, or the whole number starting with +.',
  number_hint_example: 'Without the country code (e.g. {example}), or the whole number starting with +.',
  channel_legend: 'How should we send the code?',
  channel_text: 'Text me a code',
  channel_call: 'Call me',
  email_title: 'Set up your email',
  email_intro: 'We’ll email a code to prove this address is yours.',
  passkey_title: 'Set up a passkey or security key',
  passkey_intro: 'Your browser will ask where to keep the passkey: on this device (fingerprint, face or screen lock), on your phone, or on a security key you plug in or tap.',
  passkey_name_label: 'Name (optional)',
  passkey_name_hint: 'To tell your keys apart, such as “YubiKey” or “Work laptop”.',
  passkey_create: 'Create passkey',
  passkey_waiting: 'Follow your browser’s steps to create the passkey.',
  passkey_sign_waiting: 'Follow your browser’s steps to use your passkey.',
  email_label: 'Email address',
  code_title: 'Enter the code',
  sent_text: 'We texted a code to {destination}.',
  sent_call: 'We’re calling {destination}. Answer, and listen for the code.',
  sent_email: 'We emailed a code to {destination}.',
  verify: 'Verify',
  done_title: 'You’re all set',
  done_intro: 'Your {method} is set up. You’ll use it when you sign in.',
  done_intro_not_default: 'Your {method} is set up. Sign-in still asks for your {current} first; choose “Use another method” there to use this one.',
  ap_first_failed: 'Your method is set up, but the app password couldn’t be created. You can create one later under App passwords.',
  noun_authenticator_app: 'authenticator app',
  noun_text: 'phone',
  noun_call: 'phone',
  noun_email: 'email address',
  noun_passkey: 'passkey',
  drift: 'Your phone’s clock seems to be about {offset} {direction}. Codes may stop working: set your phone to use the network time.',
  drift_behind: 'behind',
  drift_ahead: 'ahead',
  recovery_title: 'Save your recovery codes',
  recovery_intro: 'If you lose your phone, each of these codes lets you sign in once. Keep them somewhere safe: they won’t be shown again.',
  recovery_list: 'Recovery codes',
  copy_codes: 'Copy codes',
  download_codes: 'Download codes',
  recovery_file: 'recovery-codes.txt',
  recovery_file_header: 'Recovery codes for {user}. Each code works once.',
  saved_codes: 'I have saved my recovery codes',
  saved_codes_first: 'Save your recovery codes first, then tick the box.',
  add_another: 'Add another method',
  continue: 'Continue',
  wait_verify: 'You need to verify your identity before you can add methods.',
  mfa_off: 'Multi-factor authentication is not turned on for your account, so there is nothing to set up.',

  // <mfa-verify>
  verify_title: 'Verify your identity',
  verify_app: 'Enter the code shown in your authenticator app.',
  verify_passkey: 'Use your passkey or security key. Your browser will ask you to choose it.',
  use_passkey_button: 'Use passkey',
  verify_send_text: 'We’ll text a code to {destination}.',
  verify_send_call: 'We’ll call {destination} and read out a code.',
  verify_send_email: 'We’ll email a code to {destination}.',
  send_code: 'Send code',
  call_me: 'Call me',
  remember: 'Don’t ask again on this device',
  remember_hint: 'Only on a device you don’t share with others.',
  other_method: 'Use another method',
  other_title: 'Choose how to verify',
  use_app: 'Use a code from my authenticator app',
  use_text: 'Text {destination}',
  use_call: 'Call {destination}',
  use_email: 'Email {destination}',
  use_passkey: 'Use my passkey or security key',
  use_recovery: 'Use a recovery code',
  recovery_label: 'Recovery code',
  recovery_hint: '12 letters and digits, like abcd-efgh-jkmn.',
  verified_title: 'Verified',
  stay_title: 'Stay signed in?',
  stay_intro: 'Do this to reduce the number of times you are asked to sign in.',
  stay_dont_show: 'Don’t show this again',
  yes: 'Yes',
  no: 'No',
  verified_intro: 'You’re signed in.',
  remembered_until: 'This device won’t ask again until {time}.',
  recovery_left: 'You have {count} recovery codes left.',
  remembered_used: 'This device is remembered, so no code was needed.',
  already_verified: 'You’re already verified on this device.',
  locked_title: 'Sign-in is locked for now',
  locked_intro: 'Too many failed attempts. You can try again after {time}, or ask your administrator to unlock your account.',
  replace_intro: 'Your organisation no longer allows the sign-in methods you set up. Prove it’s you with one of them once more, then set up a new method.',
  replace_ask_admin: 'Your organisation no longer allows the sign-in methods you set up, and none of them can be used now. Ask your administrator for a one-time pass.',
  replace_now: 'Next, set up a sign-in method your organisation allows.',
  replace_title: 'Replace your sign-in method',
  use_pass: 'Use a one-time pass from your administrator',
  pass_label: 'One-time pass',
  pass_hint: '16 letters and digits, like abcd-efgh-jkmn-pqrs. It works once.',
  invalid_one_time_pass: 'That one-time pass isn’t valid, was already used, or has expired. Ask your administrator for a new one.',
  locked_out_intro: 'Too many failed attempts in a row. For your safety, only your administrator can unlock your account now.',
  methods_held: 'Not available right now: {methods}. It’s locked after too many failed attempts, or your organisation no longer allows it.',
  needs_enroll: 'You need to set up your security info first.',

  // <mfa-app-passwords>
  si_title: 'Security info',
  si_intro: 'These are the methods you use to sign in and to verify it’s you.',
  si_codes_title: 'Recovery codes',
  si_default: 'Default sign-in method:',
  si_no_default: 'none',
  si_change: 'Change',
  si_methods: 'Your sign-in methods',
  si_method: 'Method',
  si_detail: 'Details',
  si_added: 'Added',
  si_app_detail: 'The app on your phone',
  si_passkey_detail: 'Signs in without a code',
  si_default_badge: 'Default',
  si_method_to: '{method} to {where}',
  si_add: 'Add sign-in method',
  si_add_title: 'Add a sign-in method',
  si_added_notice: 'Your new sign-in method is added.',
  si_change_phone: 'Change',
  si_change_phone_label: 'Change {method}',
  si_phone_changed_notice: 'Your phone number is changed.',
  si_delete_label: 'Delete {method}',
  si_confirm: 'Delete {method}? You won’t be able to use it to sign in.',
  si_confirm_default: 'Delete {method}? It is your default: another of your methods becomes the default.',
  si_confirm_last: 'Delete {method}? It is your only method; the next sign-in asks you to set one up again, if your organisation allows that.',
  si_deleted: 'Deleted {method}.',
  si_default_title: 'Change default method',
  si_default_intro: 'Which method do you want to use to sign in?',
  si_default_legend: 'Default sign-in method',
  si_confirm_button: 'Confirm',
  si_default_set: 'Your default sign-in method is now {method}.',
  si_codes_left: 'You have {count} unused recovery codes.',
  si_codes_none: 'You have no unused recovery codes.',
  si_new_codes: 'Get new codes',
  si_new_codes_warning: 'Your current recovery codes will stop working. Get new ones?',
  si_new_codes_confirm: 'Get new codes',
  si_new_codes_title: 'Your new recovery codes',
  si_new_codes_intro: 'Your old recovery codes no longer work.',
  si_codes_replaced: 'Your new recovery codes are ready; the old ones no longer work.',
  si_sign_out_title: 'Lost a device?',
  si_sign_out_intro: 'Sign out everywhere: every browser and app where you are signed in with this account must sign in again. App passwords keep working until you delete them.',
  si_sign_out_all: 'Sign out everywhere',
  si_sign_out_confirm: 'Sign out of every browser and app, including this one?',
  si_signed_out_title: 'Signed out everywhere',
  si_signed_out: 'You are signed out on every device. Sign in again to continue.',
  ap_title: 'App passwords',
  ap_intro: 'Some apps, such as Outlook 2013, Apple Mail or scripts, can’t ask for a verification code. Create an app password for each of them, and use it there instead of your password.',
  ap_name: 'Name',
  ap_name_hint: 'Which app or device it’s for, e.g. “Outlook on my laptop”.',
  ap_create: 'Create',
  ap_created_title: 'Your new app password',
  ap_created_intro: 'Enter this password in {name} instead of your usual password.',
  ap_password: 'App password',
  ap_warning: 'Copy it now. It won’t be shown again.',
  ap_done: 'Done',
  ap_list: 'Your app passwords',
  ap_none: 'You have no app passwords.',
  ap_created: 'Created',
  ap_last_used: 'Last used',
  ap_never: 'Never',
  ap_actions: 'Actions',
  ap_delete: 'Delete',
  ap_delete_label: 'Delete {name}',
  ap_confirm: 'Delete “{name}”? Apps that use it will stop signing in.',
  ap_deleted: 'Deleted “{name}”.',
  ap_more: 'Limit where it works (optional)',
  ap_scopes: 'Only for',
  ap_scopes_hint: 'Scopes separated by spaces, e.g. “imap smtp”. Leave empty to use it everywhere app passwords work.',
  ap_expires: 'Expires on',
  ap_expires_hint: 'It stops working at the end of this day. Leave empty to keep it until you delete it.',
  ap_expires_past: 'Choose a day after today.',
  ap_expires_col: 'Expires',
  ap_expires_on: '{time}',
  ap_expired_on: 'Expired {time}',
  ap_no_expiry: 'Never',
  ap_expires_note: 'It stops working after {time}.',
  ap_scopes_note: 'It works only for: {scopes}.',
  ap_first_title: 'Your app password',
  ap_first_intro: 'Here is an app password that you can use with Outlook, Apple Mail, etc. Enter it there instead of your usual password. You won’t need to memorize it.',
  ap_first_name: 'Created at set-up',
  ap_not_allowed: 'Your organisation doesn’t allow creating app passwords.',
};

/** The text for `key` with `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  const text = messages[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : text;
}

/** A short, local date and time. */
export function formatTime(unixSeconds) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(
    new Date(unixSeconds * 1000),
  );
}

/** A wait in words: "45 seconds", "3 minutes". */
export function formatWait(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  const [n, unit] = s < 90 ? [s, 'second'] : s < 5400 ? [Math.round(s / 60), 'minute'] : [Math.round(s / 3600), 'hour'];
  return new Intl.NumberFormat(undefined, { style: 'unit', unit, unitDisplay: 'long' }).format(n);
}

/** What to tell a person about an error: words of our own when we have them, else the server's. */
export function describe(err) {
  const code = (err && err.code) || 'server';
  const until = err && err.until;
  switch (code) {
    case 'retry_later':
    case 'password_locked':
    case 'send_limit':
      return t(code, { wait: formatWait(until ? (until - Date.now()) / 1000 : 30) });
    case 'locked':
      return t(code, { time: until ? formatTime(until / 1000) : '' });
    case 'invalid_one_time_pass':
      return t(code);
    case 'clock_drift':
      return err.clockOffset != null ? `${t('wrong_code')} ${driftText(err.clockOffset)}` : sentence(err.message);
    case 'passkey_refused': {
      const specific = `passkey_refused_${(err && err.check) || ''}`;
      return t(specific in messages ? specific : code);
    }
    case 'malformed_code': {
      const m = /(\d) digits/.exec((err && err.message) || '');
      return t(code, { digits: m ? m[1] : 6 });
    }
    default: {
      const refused = refusedInput(err);
      if (refused) return refused.text;
      if (code in messages && !/^(invalid_|http_)/.test(code)) return t(code);
      if (err && err.status >= 500) return t('server');
      return sentence((err && err.message) || t('server'));
    }
  }
}

/** What the engine says of a field it refused ("invalid email: must look like …"), as a person reads it. */
const FIELD_NAMES = { email: 'field_email', expires_at: 'field_expires_at', scopes: 'field_scopes', name: 'field_name' };

/**
 * The field named by an engine's input refusal and the sentence to show
 * beside it, or null when `err` is not one.
 * @returns {{field: string, text: string} | null}
 */
export function refusedInput(err) {
  const m = /^invalid ([a-z_ ]+): (.+)$/s.exec((err && err.message) || '');
  if (!m || !/^invalid/.test((err && err.code) || '')) return null;
  const [, field, reason] = m;
  const name = FIELD_NAMES[field] ? t(FIELD_NAMES[field]) : field.replace(/_/g, ' ');
  const why = /^(must|is|has) /.test(reason) ? `it ${reason}` : reason;
  return { field, text: sentence(t('check_field', { field: name, why })) };
}

/** The phone's clock is `seconds` off (negative: behind). */
export function driftText(seconds) {
  return t('drift', {
    offset: formatWait(Math.abs(seconds)),
    direction: t(seconds < 0 ? 'drift_behind' : 'drift_ahead'),
  });
}

function sentence(text) {
  const s = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
