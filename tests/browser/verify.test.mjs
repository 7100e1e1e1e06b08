// <mfa-verify> against the real server: the default method, "don't ask again
// on this device" and a second visit without the prompt, another method with
// a code that arrives by autofill, and a recovery code.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiSession, axe, setUpUser, nextStep, recordEvents, shot, signIn, startBrowser, startServer, totp, staySignedIn } from './harness.mjs';

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

const userWithMethods = (user, options) => setUpUser(server, user, options);

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
  // "Stay signed in?": the device's confirmation is on screen, focus on Yes; Enter answers.
  await verify.getByRole('heading', { name: 'Stay signed in?' }).waitFor();
  await verify.getByText(/This device won’t ask again until/).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Yes');
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await shot(page, 'verify-stay-signed-in');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Welcome, erin@example.com' }).waitFor();
  const verified = (await page.evaluate(() => window.__mfaEvents)).find((e) => e.name === 'mfa-verified');
  assert.ok(verified.detail.rememberedDeviceUntil > Date.now() / 1000 + 86400, 'the device is remembered for days');
  assert.ok(verified.detail.amr.includes('otp'));

  // Second visit on the same browser: password only, no code asked; "Stay
  // signed in?" is still asked (Entra keeps the two apart), and Yes holds over a reload.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(page, server, erin);
  await verify.getByRole('heading', { name: 'Stay signed in?' }).waitFor();
  await verify.getByText('This device is remembered, so no code was needed.').waitFor();
  assert.equal(await verify.getByLabel('Code', { exact: true }).count(), 0, 'no second-factor prompt on a remembered device');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Yes');
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await shot(page, 'verify-second-visit-stay');
  await staySignedIn(page, 'Yes');
  await page.getByRole('heading', { name: 'Welcome, erin@example.com' }).waitFor();
  const session = (await browser.context.cookies()).find((c) => c.name === 'mfa_session');
  assert.ok(session.expires > Date.now() / 1000, 'Yes: the session cookie outlives the browser');
  await page.reload();
  await page.getByRole('heading', { name: 'Welcome, erin@example.com' }).waitFor();
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
  // Back returns to the code screen, focus on its heading.
  await verify.getByRole('button', { name: 'Back' }).click();
  await verify.getByText('Enter the code shown in your authenticator app.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Verify your identity', 'focus on the step heading');
  await verify.getByRole('button', { name: 'Use another method' }).click();
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
  await staySignedIn(page, 'No');
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
  // The confirmation is seen before the page moves on.
  await verify.getByText('You have 9 recovery codes left.').waitFor();
  await staySignedIn(page, 'No');
  await page.getByRole('heading', { name: 'Welcome, gina@example.com' }).waitFor();
  await page.close();
});

/** What closing and reopening the browser does to cookies: session cookies go, persistent ones stay. */
async function restartBrowser(page) {
  const context = page.context();
  const kept = (await context.cookies()).filter((c) => c.expires !== -1);
  await context.clearCookies();
  await context.addCookies(kept);
}

async function cookie(page, name) {
  return (await page.context().cookies()).find((c) => c.name === name) || null;
}

test('"Stay signed in?": Yes outlives the browser, No ends with it, "Don\'t show this again" keeps the answer', async () => {
  const hank = await userWithMethods('hank@example.com');
  const page = await browser.page(server);
  const verify = page.locator('mfa-verify .mfa-body');
  // Recovery codes as the second factor: each works once, no wait for a new TOTP step.
  let used = 0;
  const secondFactor = async () => {
    await verify.getByRole('button', { name: 'Use another method' }).click();
    await verify.getByRole('button', { name: 'Use a recovery code' }).click();
    await verify.getByLabel('Recovery code').fill(hank.recoveryCodes[used++]);
    await verify.getByRole('button', { name: 'Verify' }).click();
  };

  // Yes: the session cookie is persistent; a reopened browser is still signed in.
  await signIn(page, server, hank);
  await secondFactor();
  await staySignedIn(page, 'Yes');
  await page.getByRole('heading', { name: 'Welcome, hank@example.com' }).waitFor();
  assert.ok((await cookie(page, 'mfa_session')).expires > Date.now() / 1000 + 60, 'Yes: a persistent session cookie');
  await restartBrowser(page);
  await page.reload();
  await page.getByRole('heading', { name: 'Welcome, hank@example.com' }).waitFor();

  // Sign out: the session's Yes is forgotten, so the next sign-in asks again. No: gone with the browser.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(await cookie(page, 'mfa_stay_signed_in'), null);
  await signIn(page, server, hank);
  await secondFactor();
  await staySignedIn(page, 'No');
  await page.getByRole('heading', { name: 'Welcome, hank@example.com' }).waitFor();
  assert.equal((await cookie(page, 'mfa_session')).expires, -1, 'No: a browser-session cookie');
  await restartBrowser(page);
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();

  // "Don't show this again" with Yes: the next sign-ins go straight through, persistent.
  await signIn(page, server, hank);
  await secondFactor();
  await staySignedIn(page, 'Yes', { dontShowAgain: true });
  await page.getByRole('heading', { name: 'Welcome, hank@example.com' }).waitFor();
  assert.equal((await cookie(page, 'mfa_stay_signed_in')).value, 'yes');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await signIn(page, server, hank);
  await secondFactor();
  await page.getByRole('heading', { name: 'Welcome, hank@example.com' }).waitFor();
  const events = await page.evaluate(() => window.__mfaEvents || []);
  assert.ok((await cookie(page, 'mfa_session')).expires > Date.now() / 1000 + 60, 'the kept Yes makes the cookie persistent');
  assert.ok(!events.some((e) => e.name === 'mfa-verified' && e.detail.staySignedIn === false));
  await page.close();
});

test('"Stay signed in?" refuses callers without a session and cross-site requests', async () => {
  const ivy = await userWithMethods('ivy@example.com');
  const url = `${server.base}/api/v1/session/stay-signed-in`;
  const body = { stay: true, dont_show_again: false };
  // No sign-in at all.
  const anon = apiSession(server.base);
  await assert.rejects(anon('POST', '/session/stay-signed-in', body), /not_signed_in|401/);
  // Only the password (a login token, no second factor yet).
  const half = apiSession(server.base);
  await half('POST', '/sign-in', { user: ivy.user, password: ivy.password });
  await assert.rejects(half('POST', '/session/stay-signed-in', body), /not_signed_in|401/);
  // A signed-in browser, and a page of another site posting to it.
  const page = await browser.page(server);
  await signIn(page, server, ivy);
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByRole('button', { name: 'Use another method' }).click();
  await verify.getByRole('button', { name: 'Use a recovery code' }).click();
  await verify.getByLabel('Recovery code').fill(ivy.recoveryCodes[0]);
  await verify.getByRole('button', { name: 'Verify' }).click();
  await verify.getByRole('heading', { name: 'Stay signed in?' }).waitFor();
  const forged = await page.request.post(url, { data: body, headers: { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site' } });
  assert.equal(forged.status(), 403);
  assert.equal((await cookie(page, 'mfa_session')).expires, -1, 'the forged request changed nothing');
  // A forged session cookie.
  const ctx = page.context();
  const real = await cookie(page, 'mfa_session');
  await ctx.addCookies([{ ...real, value: `${real.value.slice(0, -4)}AAAA` }]);
  const stale = await page.request.post(url, { data: body });
  assert.equal(stale.status(), 401);
  await page.close();
});
