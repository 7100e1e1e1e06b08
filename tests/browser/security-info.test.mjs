// <mfa-security-info> and the app-password options against the real server:
// the methods with the default marked, change the default, delete a method,
// new recovery codes (the old set refused), sign out everywhere (another
// browser is signed out), app passwords limited to scopes and with an
// expiry date (refused out of scope and once expired).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiSession, axe, nextStep, recordEvents, setUpUser, shot, signIn, startBrowser, startServer, staySignedIn, totp, typeCode } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Sign in on the demo page with the authenticator app's code; answers "Stay signed in?" with No. */
async function signInWithCode(page, account) {
  await signIn(page, server, account);
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByText('Enter the code shown in your authenticator app.').waitFor();
  await nextStep(account.usedAt);
  account.usedAt = Date.now() / 1000;
  await typeCode(verify, totp(account.secret, account.usedAt));
  await verify.getByRole('button', { name: 'Verify' }).click();
  await staySignedIn(page, 'No');
  await page.getByRole('heading', { name: `Welcome, ${account.user}` }).waitFor();
}

async function gatewayCheck(user, password, scope) {
  const res = await fetch(`${server.base}/api/v1/app-passwords/verify`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(scope ? { user, password, scope } : { user, password }),
  });
  return { status: res.status, body: await res.json() };
}

test('Security info: the default marked, change it, delete a method, new recovery codes', async () => {
  const kim = await setUpUser(server, 'kim@example.com', { email: 'kim@home.example.net' });
  const page = await browser.page(server);
  await recordEvents(page);
  await signInWithCode(page, kim);
  const info = page.locator('mfa-security-info');
  await info.getByRole('heading', { name: 'Security info' }).waitFor();
  await info.getByText('Default sign-in method: Authenticator app').waitFor();
  await info.getByRole('row', { name: /Authenticator app.*Default/ }).waitFor();
  await info.getByRole('row', { name: /Email.*k•••@home\.example\.net/ }).waitFor();
  await info.getByText('You have 10 unused recovery codes.').waitFor();
  assert.deepEqual(await axe(page, 'mfa-security-info'), []);
  await shot(page, 'security-info');

  // Change the default to the email address.
  await info.getByRole('button', { name: 'Change' }).click();
  await info.getByRole('heading', { name: 'Change default method' }).waitFor();
  await info.getByRole('radio', { name: 'Email to k•••@home.example.net' }).check();
  assert.deepEqual(await axe(page, 'mfa-security-info'), []);
  await info.getByRole('button', { name: 'Confirm' }).click();
  await info.locator('.mfa-confirm', { hasText: 'Your default sign-in method is now Email to k•••@home.example.net.' }).waitFor();
  await info.getByRole('row', { name: /Email.*Default/ }).waitFor();
  let record = await server.admin('GET', '/users/kim@example.com');
  const email = record.methods.find((m) => m.method_type === 'email');
  assert.equal(email.is_default, true, 'the server holds the new default');

  // Delete the authenticator app: asked first, Cancel keeps it, Delete removes it.
  await info.getByRole('button', { name: 'Delete Authenticator app' }).click();
  await info.getByText('Delete Authenticator app? You won’t be able to use it to sign in.').waitFor();
  await info.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await server.admin('GET', '/users/kim@example.com')).methods.length, 2, 'Cancel deletes nothing');
  await info.getByRole('button', { name: 'Delete Authenticator app' }).click();
  await info.getByRole('button', { name: 'Delete', exact: true }).click();
  await info.locator('.mfa-confirm', { hasText: 'Deleted Authenticator app.' }).waitFor();
  await shot(page, 'security-info-deleted');
  record = await server.admin('GET', '/users/kim@example.com');
  assert.deepEqual(record.methods.map((m) => m.method_type), ['email']);

  // The last method is not deleted without a replacement: the engine refuses, the page says why.
  await info.getByRole('button', { name: 'Delete Email to k•••@home.example.net' }).click();
  await info.getByText(/It is your only method/).waitFor();
  await info.getByRole('button', { name: 'Delete', exact: true }).click();
  await info.locator('.mfa-error', { hasText: 'You can’t delete your only sign-in method. Add another one first, then delete this one.' }).waitFor();
  assert.equal((await server.admin('GET', '/users/kim@example.com')).methods.length, 1, 'the last method stays');

  // New recovery codes: the old set stops working.
  await info.getByRole('button', { name: 'Get new codes' }).click();
  await info.getByText('Your current recovery codes will stop working. Get new ones?').waitFor();
  await info.getByRole('button', { name: 'Get new codes' }).click();
  await info.getByRole('heading', { name: 'Your new recovery codes' }).waitFor();
  const codes = (await info.locator('.mfa-codes li').allInnerTexts()).map((c) => c.trim());
  assert.equal(codes.length, 10);
  for (const c of codes) assert.ok(!kim.recoveryCodes.includes(c), 'every code is new');
  assert.deepEqual(await axe(page, 'mfa-security-info'), []);
  await shot(page, 'security-info-new-codes');
  await info.getByRole('button', { name: 'Done' }).click();
  await info.locator('.mfa-error', { hasText: 'Save your recovery codes first, then tick the box.' }).waitFor();
  await info.getByLabel('I have saved my recovery codes').check();
  await info.getByRole('button', { name: 'Done' }).click();
  await info.locator('.mfa-confirm', { hasText: 'Your new recovery codes are ready; the old ones no longer work.' }).waitFor();
  assert.equal(await info.locator('.mfa-codes').count(), 0, 'the codes are gone from the page');

  const old = apiSession(server.base);
  await old('POST', '/sign-in', { user: kim.user, password: kim.password });
  const refused = await old('POST', '/verify/recovery', { code: kim.recoveryCodes[1] }).catch((e) => e);
  assert.equal(refused.status, 401, 'an old recovery code is refused');
  assert.equal(refused.data.error.code, 'wrong_recovery_code');
  const fresh = apiSession(server.base);
  await fresh('POST', '/sign-in', { user: kim.user, password: kim.password });
  const ok = await fresh('POST', '/verify/recovery', { code: codes[0] });
  assert.equal(ok.recovery_codes_left, 9, 'a new one works');

  const events = await page.evaluate(() => window.__mfaEvents);
  assert.ok(events.some((e) => e.name === 'mfa-default-changed'));
  assert.ok(events.some((e) => e.name === 'mfa-method-removed'));
  assert.ok(events.some((e) => e.name === 'mfa-recovery-codes-issued' && e.detail.count === 10));
  assert.ok(!JSON.stringify(events).includes(codes[1]), 'recovery codes never go into events');
  await page.close();
});

test('Sign out everywhere: another signed-in browser is signed out too', async () => {
  const lee = await setUpUser(server, 'lee@example.com');
  const page = await browser.page(server);
  await signInWithCode(page, lee);
  const other = await startBrowser();
  try {
    const there = await other.page(server);
    await signInWithCode(there, lee);
    const info = page.locator('mfa-security-info');
    await info.getByRole('button', { name: 'Sign out everywhere' }).click();
    await info.getByText('Sign out of every browser and app, including this one?').waitFor();
    assert.deepEqual(await axe(page, 'mfa-security-info'), []);
    await info.getByRole('button', { name: 'Sign out everywhere' }).click();
    // This page goes back to sign-in; the other browser's session no longer works.
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await there.reload();
    await there.getByRole('heading', { name: 'Sign in' }).waitFor();
    const status = await there.evaluate(async () => (await fetch('/api/v1/session')).status);
    assert.equal(status, 401);
    await shot(there, 'security-info-signed-out-elsewhere');
  } finally {
    await other.close();
  }
  await page.close();
});

test('app password limited to scopes and with an expiry date: refused out of scope and once expired', async () => {
  const max = await setUpUser(server, 'max@example.com');
  const page = await browser.page(server);
  await signInWithCode(page, max);
  const ap = page.locator('mfa-app-passwords');
  await ap.getByLabel('Name').fill('Mail sync');
  await ap.getByText('Limit where it works (optional)').click();
  // A scope the engine refuses is explained beside its field.
  await ap.getByLabel('Only for').fill('imap mail!');
  await ap.getByRole('button', { name: 'Create' }).click();
  await ap.locator('.mfa-error', { hasText: /^⚠? ?Check the scopes: "mail!" is not a scope/ }).waitFor();
  assert.equal(await ap.getByLabel('Only for').getAttribute('aria-invalid'), 'true');
  await ap.getByLabel('Only for').fill('imap smtp');
  const tomorrow = new Date(Date.now() + 86400e3);
  const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
  await ap.getByLabel('Expires on').fill(day);
  assert.deepEqual(await axe(page, 'mfa-app-passwords'), []);
  await shot(page, 'app-password-options');
  await ap.getByRole('button', { name: 'Create' }).click();
  await ap.getByRole('heading', { name: 'Your new app password' }).waitFor();
  await ap.getByText('It works only for: imap, smtp.').waitFor();
  await ap.getByText(/It stops working after /).waitFor();
  const password = (await ap.getByLabel('App password', { exact: true }).inputValue()).replace(/ /g, '');

  assert.equal((await gatewayCheck('max@example.com', password, 'imap')).status, 200, 'in scope');
  for (const scope of ['route:/api', null]) {
    const out = await gatewayCheck('max@example.com', password, scope);
    assert.deepEqual([out.status, out.body.error.code], [403, 'out_of_scope'], `refused for ${scope || 'a place that names no scope'}`);
  }

  await ap.getByRole('button', { name: 'Done' }).click();
  const row = ap.getByRole('row', { name: /Mail sync \(imap, smtp\)/ });
  await row.waitFor();
  const listed = (await server.admin('GET', '/users/max@example.com')).app_passwords.find((a) => a.name === 'Mail sync');
  assert.equal(listed.expires_at, Math.floor(new Date(`${day}T23:59:59`).getTime() / 1000), 'it expires at the end of the chosen day');

  // Once its expiry passes it is refused (made through the API with an expiry two seconds away).
  const call = apiSession(server.base);
  await call('POST', '/sign-in', { user: max.user, password: max.password });
  await nextStep(max.usedAt);
  max.usedAt = Date.now() / 1000;
  await call('POST', '/verify', { code: totp(max.secret, max.usedAt) });
  const short = await call('POST', '/app-passwords', { name: 'Short-lived', expires_at: Math.floor(Date.now() / 1000) + 2 });
  assert.equal((await gatewayCheck('max@example.com', short.password)).status, 200, 'before its expiry');
  await new Promise((r) => setTimeout(r, 3500));
  const expired = await gatewayCheck('max@example.com', short.password);
  assert.deepEqual([expired.status, expired.body.error.code], [401, 'app_password_expired'], 'after its expiry');
  await page.reload();
  await ap.getByRole('row', { name: /Short-lived/ }).getByText(/^Expired /).waitFor();
  await page.close();
});

test('Security info: change the phone number, proved with a code sent to the new one', async () => {
  const nia = await setUpUser(server, 'nia@example.com');
  // Nia also has a phone for text messages, registered through the API.
  const call = apiSession(server.base);
  await call('POST', '/sign-in', { user: nia.user, password: nia.password });
  await nextStep(nia.usedAt);
  nia.usedAt = Date.now() / 1000;
  const listed = await call('GET', '/methods');
  await call('POST', '/verify', { method_id: listed.methods[0].id, code: totp(nia.secret, nia.usedAt) });
  let mark = server.mark();
  const sent = await call('POST', '/methods/phone', { country_code: '+44', number: '07700 900123', channel: 'text' });
  await call('POST', '/methods/confirm', { code: await server.code(mark, sent.masked_destination) });

  const page = await browser.page(server);
  await signInWithCode(page, nia);
  const info = page.locator('mfa-security-info');
  await info.getByRole('row', { name: /Text message.*\+44 ••••••••23/ }).waitFor();
  assert.equal(await info.getByRole('button', { name: 'Change Authenticator app' }).count(), 0, 'only a phone has Change');
  await info.getByRole('button', { name: 'Change Text message to +44 ••••••••23' }).click();
  const enroll = info.locator('mfa-enroll .mfa-body');
  await enroll.getByRole('heading', { name: 'Change your phone number' }).waitFor();
  await enroll.getByLabel('Country or region').selectOption({ label: 'United Kingdom (+44)' });
  await enroll.getByLabel('Phone number').fill('07700 900456');
  assert.deepEqual(await axe(page, 'mfa-security-info'), []);
  await shot(page, 'security-info-change-phone');
  mark = server.mark();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByText('We texted a code to +44 ••••••••56.').waitFor();
  const code = await server.code(mark, '+44 ••••••••56');

  // Until the new number is proven, the old phone is still there.
  let record = await server.admin('GET', '/users/nia@example.com');
  assert.ok(record.methods.some((m) => m.kind.masked === '+44 ••••••••23'), 'the old phone stays until the code is entered');
  // A wrong code does not change it.
  const wrong = code === '000000' ? '111111' : '000000';
  await typeCode(enroll, wrong);
  await enroll.getByRole('button', { name: 'Verify' }).click();
  await enroll.locator('.mfa-error:not([hidden])').waitFor();
  record = await server.admin('GET', '/users/nia@example.com');
  assert.ok(record.methods.some((m) => m.kind.masked === '+44 ••••••••23'));

  await typeCode(enroll, code);
  await enroll.getByRole('button', { name: 'Verify' }).click();
  await enroll.getByText('Your phone number is changed: codes now go to the new number.').waitFor();
  await shot(page, 'security-info-phone-changed');
  await enroll.getByRole('button', { name: 'Continue' }).click();
  await info.locator('.mfa-confirm', { hasText: 'Your phone number is changed.' }).waitFor();
  await info.getByRole('row', { name: /Text message.*\+44 ••••••••56/ }).waitFor();
  assert.equal(await info.getByText('+44 ••••••••23').count(), 0, 'the old number is gone from the list');
  record = await server.admin('GET', '/users/nia@example.com');
  const phones = record.methods.filter((m) => m.method_type === 'text');
  assert.deepEqual(phones.map((m) => m.kind.masked), ['+44 ••••••••56']);

  // A method that is not a phone cannot be changed.
  await assert.rejects(
    call('POST', `/methods/${listed.methods[0].id}/phone`, { country_code: '+44', number: '07700 900789', channel: 'text' }),
    (e) => e.status === 404 && e.data.error.code === 'unknown_method',
  );
  await page.close();
});
