// Security review item 3 in the browser: the admin stops allowing a user's
// only method. Signing in with the password alone asks the user to prove it
// is them first (an old method, a recovery code, or the admin's one-time
// pass) and only then to set up a method the organisation allows.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiSession, axe, shot, signIn, startBrowser, startServer, staySignedIn } from './harness.mjs';

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

test('methods the admin no longer allows: a one-time pass, then a new method', async () => {
  const hana = await server.createUser('hana@example.com');
  const call = apiSession(server.base);
  await call('POST', '/sign-in', hana);
  const mark = server.mark();
  const sent = await call('POST', '/methods/email', { address: 'hana@home.example.net' });
  await call('POST', '/methods/confirm', { code: await server.code(mark, sent.masked_destination) });

  const settings = await server.admin('PUT', '/settings', { allowed_methods: ['authenticator_app', 'text', 'call'] });
  assert.deepEqual(settings.users_to_replace, ['hana@example.com'], 'the admin is told who is affected');
  const { pass } = await server.admin('POST', '/users/hana@example.com/one-time-pass', { lifetime_secs: 3600 });

  const page = await browser.page(server);
  await signIn(page, server, hana);
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByText('Your organisation no longer allows the sign-in methods you set up.', { exact: false }).waitFor();
  assert.equal(await page.locator('mfa-enroll').count(), 0, 'no set-up before a proof');
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await shot(page, 'replace-prove-first');

  await verify.getByRole('button', { name: 'Use another method' }).click();
  await verify.getByRole('button', { name: 'Use a one-time pass from your administrator' }).click();
  const input = verify.getByLabel('One-time pass');
  await input.fill('abcd-efgh-jkmn-pqrs');
  await verify.getByRole('button', { name: 'Verify' }).click();
  await verify.getByText('That one-time pass isn’t valid, was already used, or has expired.', { exact: false }).waitFor();
  await input.fill(pass);
  await verify.getByRole('button', { name: 'Verify' }).click();
  await staySignedIn(page, 'No');

  // Proven: now the set-up, with the methods the organisation allows.
  const enroll = page.locator('mfa-enroll .mfa-body');
  await enroll.getByRole('heading', { name: 'Replace your sign-in method' }).waitFor();
  assert.equal(await enroll.getByRole('radio', { name: 'Email' }).count(), 0, 'email is no longer offered');
  await enroll.getByRole('radio', { name: 'Authenticator app' }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await shot(page, 'replace-set-up');
  await page.close();
});
