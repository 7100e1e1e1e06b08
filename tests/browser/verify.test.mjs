// <mfa-verify> against the real server: the default method, "don't ask again
// on this device" and a second visit without the prompt, another method with
// a code that arrives by autofill, and a recovery code.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiSession, axe, nextStep, recordEvents, shot, signIn, startBrowser, startServer, totp } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  // These tests register methods and sign in moments later; the send budget
  // has its own tests (enroll.test.mjs and the server's send_limits.rs).
  await server.admin('PUT', '/settings', { send_gap_secs: 0 });
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A user with an authenticator app (and optionally an email), set up through the API. */
async function userWithMethods(user, { email = null } = {}) {
  const account = await server.createUser(user);
  const call = apiSession(server.base);
  await call('POST', '/sign-in', account);
  const reg = await call('POST', '/methods/authenticator', {});
  const secret = reg.manual_key.replace(/\s+/g, '');
  const usedAt = Date.now() / 1000;
  const confirmed = await call('POST', '/methods/confirm', { code: totp(secret, usedAt) });
  if (email) {
    const mark = server.mark();
    const sent = await call('POST', '/methods/email', { address: email });
    await call('POST', '/methods/confirm', { code: await server.code(mark, sent.masked_destination) });
  }
  return { ...account, secret, usedAt, recoveryCodes: confirmed.recovery_codes };
}

test('the default method, "don’t ask again on this device", then a second visit without the prompt', async () => {
  const erin = await userWithMethods('erin@example.com');
  const page = await browser.page(server);
  await recordEvents(page);
  await signIn(page, server, erin);
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByText('Enter the code shown in your authenticator app.').waitFor();
  const input = verify.getByLabel('Code', { exact: true });
  assert.equal(await input.getAttribute('inputmode'), 'numeric');
  assert.equal(await input.getAttribute('autocomplete'), 'one-time-code');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('autocomplete')), 'one-time-code', 'focus starts in the code input');
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await shot(page, 'verify-prompt');

  await nextStep(erin.usedAt);
  // Keyboard only: type the code, tab to the box, tick it with space, Enter submits.
  await input.focus();
  await page.keyboard.type(totp(erin.secret));
  await page.keyboard.press('Tab');
  await page.keyboard.press('Space');
  assert.equal(await verify.getByLabel('Don’t ask again on this device').isChecked(), true);
  await shot(page, 'verify-remember-ticked');
  await input.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Welcome, erin@example.com' }).waitFor();
  const verified = (await page.evaluate(() => window.__mfaEvents)).find((e) => e.name === 'mfa-verified');
  assert.ok(verified.detail.rememberedDeviceUntil > Date.now() / 1000 + 86400, 'the device is remembered for days');
  assert.ok(verified.detail.amr.includes('otp'));

  // Second visit on the same browser: password only.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(page, server, erin);
  await page.getByRole('heading', { name: 'Welcome, erin@example.com' }).waitFor();
  assert.equal(await page.locator('mfa-verify .mfa-body').count(), 0, 'no second-factor prompt on a remembered device');
  await shot(page, 'verify-second-visit-skipped');
  await page.close();
});

test('another method: email, a code that arrives by autofill submits itself', async () => {
  const frank = await userWithMethods('frank@example.com', { email: 'frank@home.example.net' });
  const page = await browser.page(server);
  await signIn(page, server, frank);
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByRole('button', { name: 'Use another method' }).click();
  await verify.getByRole('heading', { name: 'Choose how to verify' }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await shot(page, 'verify-other-methods');
  await verify.getByRole('button', { name: 'Email f•••@home.example.net' }).click();
  await verify.getByText('We’ll email a code to f•••@home.example.net.').waitFor();
  const mark = server.mark();
  await verify.getByRole('button', { name: 'Send code' }).click();
  await verify.getByText('We emailed a code to f•••@home.example.net.').waitFor();
  const code = await server.code(mark, 'f•••@home.example.net');
  // What a browser or password manager does when it fills a one-time code.
  await verify.getByLabel('Code', { exact: true }).evaluate((el, value) => {
    el.value = value;
    el.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertReplacementText', data: value }));
  }, code);
  await page.getByRole('heading', { name: 'Welcome, frank@example.com' }).waitFor();
  await page.close();
});

test('a recovery code instead of a method', async () => {
  const gina = await userWithMethods('gina@example.com');
  const page = await browser.page(server);
  await signIn(page, server, gina);
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByRole('button', { name: 'Use another method' }).click();
  await verify.getByRole('button', { name: 'Use a recovery code' }).click();
  const field = verify.getByLabel('Recovery code');
  await field.fill('abcd-efgh-jkmn');
  await verify.getByRole('button', { name: 'Verify' }).click();
  await verify.getByText('That recovery code isn’t valid, or it was already used.').waitFor();
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await shot(page, 'verify-recovery-wrong');
  await field.fill(gina.recoveryCodes[0].toUpperCase());
  await verify.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Welcome, gina@example.com' }).waitFor();
  await page.close();
});
