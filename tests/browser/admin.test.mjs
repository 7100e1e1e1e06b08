// The admin portal (seed 004) against the real server: the demo admin signs
// in with MFA, bulk-enables three users (each is asked to "Set it up now"),
// searches, turns app passwords off in service settings (the Create button
// is gone and the API refuses), gets the server's message beside a bad
// field, restores MFA on a user's remembered devices (that browser is asked
// for a code again) and reads every action in the audit log with the admin
// named and no secret shown. A user without the role is turned away.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiSession, axe, enrolTotpByApi, nextStep, setUpUser, shot, signIn, startBrowser, startServer, staySignedIn, totp, typeCode } from './harness.mjs';

const ADMIN = { user: 'admin@example.com', password: 'admin-password' };

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

/** Sign in on the demo page with a code; "Stay signed in?" No; optionally tick "Don't ask again on this device". */
async function signInWithCode(page, account, { remember = false } = {}) {
  await signIn(page, server, account);
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByText('Enter the code shown in your authenticator app.').waitFor();
  await nextStep(account.usedAt);
  account.usedAt = Date.now() / 1000;
  await typeCode(verify, totp(account.secret, account.usedAt));
  if (remember) await verify.getByLabel('Don’t ask again on this device').check();
  await verify.getByRole('button', { name: 'Verify' }).click();
  await staySignedIn(page, 'No');
  await page.getByRole('heading', { name: `Welcome, ${account.user}` }).waitFor();
}

test('the admin portal: bulk enable, service settings, remembered devices, audit', async () => {
  // Bob remembers this browser: his next sign-in asks for no code.
  const bob = await setUpUser(server, 'bob@example.com');
  let page = await browser.page(server);
  await signInWithCode(page, bob, { remember: true });
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await signIn(page, server, bob);
  await staySignedIn(page, 'No');
  await page.getByRole('heading', { name: 'Welcome, bob@example.com', exact: true }).waitFor();
  const device = (await browser.context.cookies()).filter((c) => c.name === 'mfa_device');
  assert.equal(device.length, 1, 'the browser holds a remembered-device cookie');
  // A user without the admin role is turned away from the admin page.
  await page.goto(`${server.base}/admin/`);
  await page.getByText('bob@example.com isn’t an admin.', { exact: false }).waitFor();
  assert.equal(await page.locator('mfa-admin-users').count(), 0);
  await page.close();

  for (const u of ['carol@example.com', 'dave@example.com', 'erin@example.com']) await server.createUser(u, 'correct horse battery', 'disabled');

  // The demo admin signs in with the second factor and opens the portal from the home page.
  const admin = { ...ADMIN, secret: await enrolTotpByApi(server, ADMIN), usedAt: Date.now() / 1000 };
  page = await browser.page(server);
  await page.goto(`${server.base}/admin/`);
  await page.getByRole('heading', { name: 'Sign in as an admin', exact: true }).waitFor();
  await page.getByRole('link', { name: 'Sign in' }).click();
  await signInWithCode(page, admin);
  await page.getByRole('link', { name: 'Admin portal' }).click();
  const users = page.locator('mfa-admin-users');
  await users.getByRole('heading', { name: 'Users', exact: true }).waitFor();
  await users.getByRole('row', { name: /carol@example\.com.*Disabled/ }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-admin-users'), []);
  await shot(page, 'admin-users');

  // Multi-select, then Enable.
  for (const u of ['carol', 'dave', 'erin']) await users.getByRole('checkbox', { name: `Select ${u}@example.com` }).check();
  await users.getByText('3 selected').waitFor();
  await users.getByRole('button', { name: 'Enable', exact: true }).click();
  await users.locator('.mfa-confirm', { hasText: 'Enable: done for 3 of 3 users.' }).waitFor();
  for (const u of ['carol', 'dave', 'erin']) await users.getByRole('row', { name: new RegExp(`${u}@example\\.com.*Enabled`) }).waitFor();
  await shot(page, 'admin-users-enabled');
  for (const u of ['carol', 'dave', 'erin']) {
    const call = apiSession(server.base);
    const res = await call('POST', '/sign-in', { user: `${u}@example.com`, password: 'correct horse battery' });
    assert.equal(res.next.next, 'register', `${u} is asked to "Set it up now"`);
  }

  // Search and filter.
  await users.getByLabel('Search users').fill('DAVE');
  await users.getByRole('button', { name: 'Search' }).click();
  // The list is redrawn when the answer arrives: wait for the others to go.
  await users.getByRole('row', { name: /carol@example\.com/ }).waitFor({ state: 'detached' });
  await users.getByRole('row', { name: /dave@example\.com/ }).waitFor();
  assert.equal(await users.locator('tbody tr').count(), 1, 'only dave matches');
  await users.getByLabel('Search users').fill('');
  await users.getByLabel('Multi-factor auth status').selectOption('enforced');
  await users.getByRole('button', { name: 'Search' }).click();
  await users.getByRole('row', { name: /admin@example\.com.*Enforced/ }).waitFor();
  await users.getByRole('row', { name: /dave@example\.com/ }).waitFor({ state: 'detached' });
  assert.equal(await users.getByRole('row', { name: /carol@example\.com/ }).count(), 0, 'the filter hides enabled users');

  // Service settings: app passwords off.
  await page.getByRole('tab', { name: 'Service settings' }).click();
  const settings = page.locator('mfa-admin-settings');
  await settings.getByRole('heading', { name: 'Service settings', exact: true }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-admin-settings'), []);
  await shot(page, 'admin-settings');
  await settings.getByLabel('Do not allow users to create app passwords to sign in to non-browser apps').check();
  await settings.getByRole('button', { name: 'Save' }).click();
  await settings.locator('.mfa-confirm', { hasText: 'The service settings were saved.' }).waitFor();
  assert.equal((await server.admin('GET', '/settings')).app_passwords_allowed, false);

  // A bad value: the engine's message beside the field, nothing saved.
  const days = settings.getByLabel('Number of days users can trust devices for');
  await days.fill('0');
  await settings.getByRole('button', { name: 'Save' }).click();
  const daysError = settings.locator('.mfa-field', { has: page.getByLabel('Number of days users can trust devices for') }).locator('.mfa-error');
  await daysError.getByText('Must be 1 to 365, not 0.').waitFor();
  assert.equal(await days.getAttribute('aria-invalid'), 'true');
  assert.equal((await server.admin('GET', '/settings')).remember_device_days, 90, 'nothing was saved');
  await shot(page, 'admin-settings-error');
  await days.fill('30');
  await settings.getByRole('button', { name: 'Save' }).click();
  await settings.locator('.mfa-confirm', { hasText: 'The service settings were saved.' }).waitFor();
  assert.equal((await server.admin('GET', '/settings')).remember_device_days, 30);

  // Passkeys: only the company's security keys, verified with a PIN or biometrics.
  await settings.getByText('Passkeys are registered for localhost.').waitFor();
  assert.equal(await settings.getByLabel('Passkey or security key (FIDO2)').isChecked(), true, 'the demo allows passkeys');
  const models = settings.getByLabel('Allowed key models (AAGUIDs)');
  await models.fill('not-a-model');
  await settings.getByRole('button', { name: 'Save' }).click();
  const modelsError = settings.locator('.mfa-field', { has: page.getByLabel('Allowed key models (AAGUIDs)') }).locator('.mfa-error');
  await modelsError.filter({ hasText: 'is not an AAGUID' }).waitFor();
  assert.equal(await models.getAttribute('aria-invalid'), 'true');
  assert.deepEqual((await server.admin('GET', '/settings')).passkeys.allowed_aaguids, [], 'nothing was saved');
  await settings.getByLabel('Require the key to verify the person (PIN or biometrics)').check();
  await models.fill('CB69481E-8FF7-4039-93EC-0A2729A154A8\nee882879-721c-4913-9775-3dfcce97072a');
  await settings.getByRole('button', { name: 'Save' }).click();
  await settings.locator('.mfa-confirm', { hasText: 'The service settings were saved.' }).waitFor();
  const keys = (await server.admin('GET', '/settings')).passkeys;
  assert.deepEqual(keys.allowed_aaguids, ['cb69481e-8ff7-4039-93ec-0a2729a154a8', 'ee882879-721c-4913-9775-3dfcce97072a']);
  assert.equal(keys.require_user_verification, true);
  assert.equal(keys.rp_id, 'localhost', 'the site is the configuration’s');
  assert.deepEqual(await axe(page, 'mfa-admin-settings'), []);
  await shot(page, 'admin-settings-passkeys');

  // Bob no longer sees Create, and the API refuses him.
  const bobPage = await browser.context.newPage();
  const bobApi = apiSession(server.base);
  await bobApi('POST', '/sign-in', { user: bob.user, password: bob.password });
  await nextStep(bob.usedAt);
  bob.usedAt = Date.now() / 1000;
  const methods = await bobApi('GET', '/methods');
  await bobApi('POST', '/verify', { method_id: methods.methods[0].id, code: totp(bob.secret, bob.usedAt) });
  await assert.rejects(bobApi('POST', '/app-passwords', { name: 'Outlook' }), (e) => e.status === 403 && e.data.error.code === 'app_passwords_disabled');
  await bobPage.close();

  // Restore MFA on Bob's remembered devices, from "Manage user settings".
  await page.getByRole('tab', { name: 'Users' }).click();
  await users.getByLabel('Multi-factor auth status').selectOption('');
  await users.getByRole('button', { name: 'Search' }).click();
  await users.getByRole('checkbox', { name: 'Select bob@example.com' }).check();
  await users.getByRole('button', { name: 'Manage user settings' }).click();
  await users.getByRole('heading', { name: 'Manage user settings', exact: true }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-admin-users'), []);
  await shot(page, 'admin-manage-user-settings');
  await users.getByLabel('Restore multi-factor authentication on all remembered devices').check();
  await users.getByRole('button', { name: 'Save' }).click();
  await users.locator('.mfa-confirm', { hasText: 'Restore MFA on remembered devices: done for 1 of 1 users.' }).waitFor();

  // Bob's detail view; a one-time pass, shown once.
  await users.getByRole('button', { name: 'Details for bob@example.com' }).click();
  await users.getByRole('heading', { name: 'bob@example.com', exact: true }).waitFor();
  await users.getByRole('row', { name: /Authenticator app.*Default/ }).waitFor();
  await users.getByRole('row', { name: /Remembered devices restored.*admin@example\.com/ }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-admin-users'), []);
  await shot(page, 'admin-user-detail');
  await users.getByRole('button', { name: 'Create a one-time pass' }).click();
  await users.getByRole('heading', { name: 'One-time pass for bob@example.com', exact: true }).waitFor();
  const pass = await users.locator('output.mfa-secret').textContent();
  assert.ok(pass.length >= 8, 'a pass is shown');
  await shot(page, 'admin-one-time-pass');
  await users.getByRole('button', { name: 'Done' }).click();
  await users.getByText(/A one-time pass is valid until/).first().waitFor();
  assert.equal(await page.getByText(pass).count(), 0, 'the pass is gone from the page');

  // The audit log: each action, newest first, by the admin; no secret.
  await page.getByRole('tab', { name: 'Audit log' }).click();
  const audit = page.locator('mfa-admin-audit');
  await audit.getByRole('heading', { name: 'Audit log', exact: true }).waitFor();
  for (const [user, event] of [
    ['bob@example.com', 'Remembered devices restored'],
    ['carol@example.com', 'MFA state changed'],
    ['erin@example.com', 'MFA state changed'],
  ]) {
    await audit.getByRole('row', { name: new RegExp(`${user.replace('.', '\\.')}.*${event}.*admin@example\\.com`) }).first().waitFor();
  }
  assert.deepEqual(await axe(page, 'mfa-admin-audit'), []);
  await shot(page, 'admin-audit');
  await audit.getByLabel('User').fill('carol@example.com');
  await audit.getByLabel('Event').selectOption('mfa_state_changed');
  await audit.getByRole('button', { name: 'Show' }).click();
  await audit.getByRole('row', { name: /carol@example\.com.*MFA state changed/ }).waitFor();
  // The list is redrawn: the other users' rows go (a filter that did not work would time out here).
  await audit.locator('tbody tr', { hasNotText: 'carol@example.com' }).first().waitFor({ state: 'detached' });
  assert.equal(await audit.locator('tbody tr').count(), 1);
  const text = await page.locator('main').textContent();
  for (const secret of [pass, bob.password, admin.password, bob.secret]) assert.ok(!text.includes(secret), 'no secret on the admin page');
  const times = await server.admin('GET', '/audit?limit=20');
  assert.ok(times.entries.every((e, i, all) => i === 0 || all[i - 1].id > e.id), 'newest first');
  await page.close();

  // Bob's remembered browser is asked for a code again.
  await browser.context.clearCookies();
  await browser.context.addCookies(device);
  page = await browser.context.newPage();
  await signIn(page, server, bob);
  await page.locator('mfa-verify .mfa-body').getByText('Enter the code shown in your authenticator app.').waitFor();
  await page.close();
});

test('the admin API refuses a signed-in user without the role, and a page from another site', async () => {
  const gil = await setUpUser(server, 'gil@example.com');
  const call = apiSession(server.base);
  await call('POST', '/sign-in', { user: gil.user, password: gil.password });
  await nextStep(gil.usedAt);
  const methods = await call('GET', '/methods');
  await call('POST', '/verify', { method_id: methods.methods[0].id, code: totp(gil.secret) });
  await assert.rejects(call('GET', '/admin/users'), (e) => e.status === 403 && e.data.error.code === 'not_admin');
  await assert.rejects(call('POST', '/admin/bulk', { users: ['gil@example.com'], action: 'unlock' }), (e) => e.status === 403 && e.data.error.code === 'not_admin');

  // A state-changing request from another site's page is refused before any credential is read.
  const res = await fetch(`${server.base}/api/v1/admin/users/gil@example.com/admin`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
    body: JSON.stringify({ admin: true }),
  });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).error.code, 'cross_site_request');
  assert.equal((await server.admin('GET', '/users/gil@example.com')).admin, false);
});
