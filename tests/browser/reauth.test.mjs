// Security item 2 in the browser: a sensitive change on a session whose
// second factor is older than the policy's window. The server answers
// `reauth_required`; the widget asks "Verify it's you" in place, and after
// the code the change goes through. Cancelling creates nothing; a wrong
// code is refused; the page never hears of the step as a new sign-in.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { axe, enrolTotpByApi, nextStep, recordEvents, shot, signIn, startBrowser, startServer, totp, typeCode, staySignedIn } from './harness.mjs';

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

const WINDOW_SECS = 60;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('an old session verifies again before creating an app password', async () => {
  await server.admin('PUT', '/settings', { reauth_window_secs: WINDOW_SECS });
  const lena = await server.createUser('lena@example.com');
  const secret = await enrolTotpByApi(server, lena);
  let usedAt = Date.now() / 1000;

  const page = await browser.page(server);
  await recordEvents(page);
  await signIn(page, server, lena);
  await nextStep(usedAt);
  const verify = page.locator('mfa-verify .mfa-body');
  await typeCode(verify, totp(secret));
  usedAt = Date.now() / 1000;
  await verify.getByRole('button', { name: 'Verify' }).click();
  await staySignedIn(page, 'No');
  const ap = page.locator('mfa-app-passwords .mfa-body');
  await ap.getByText('You have no app passwords.').waitFor();

  // The second factor grows older than the window (bounded wait, not a timed assertion).
  while (Date.now() / 1000 < usedAt + WINDOW_SECS + 2) await sleep(500);

  // The API itself refuses the change without a recent second factor.
  const signedIn = await page.context().cookies();
  const cookie = signedIn.map((c) => `${c.name}=${c.value}`).join('; ');
  const direct = await fetch(`${server.base}/api/v1/app-passwords`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: cookie },
    body: JSON.stringify({ name: 'Sneaky' }),
  });
  assert.equal(direct.status, 403);
  assert.equal((await direct.json()).error.code, 'reauth_required');

  // Cancel: nothing is created, the list is back.
  await ap.getByLabel('Name').fill('Outlook on my laptop');
  await ap.getByRole('button', { name: 'Create' }).click();
  await ap.getByRole('heading', { name: 'Verify it’s you' }).waitFor();
  await ap.getByText('This change needs a recent verification.').waitFor();
  await ap.getByRole('button', { name: 'Cancel' }).click();
  await ap.getByText('You have no app passwords.').waitFor();

  // Again, this time verifying: a wrong code first, then the right one.
  await ap.getByLabel('Name').fill('Outlook on my laptop');
  await ap.getByRole('button', { name: 'Create' }).click();
  await ap.getByRole('heading', { name: 'Verify it’s you' }).waitFor();
  const again = ap.locator('mfa-verify .mfa-body');
  await again.getByLabel('Code', { exact: true }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('autocomplete')), 'one-time-code', 'focus is on the code field');
  assert.equal(await again.getByText('Don’t ask again').count(), 0, 'no "remember this device" while re-verifying');
  assert.deepEqual(await axe(page, 'mfa-app-passwords'), []);
  await shot(page, 'reauth-step');
  const right = totp(secret);
  const wrong = String((Number(right) + 1) % 1e6).padStart(6, '0');
  await typeCode(again, wrong);
  await again.getByRole('button', { name: 'Verify' }).click();
  await again.getByText('That code isn’t right.').waitFor();
  await nextStep(usedAt);
  await typeCode(again, totp(secret));
  await again.getByRole('button', { name: 'Verify' }).click();
  await ap.getByRole('heading', { name: 'Your new app password' }).waitFor();
  const shown = await ap.getByLabel('App password', { exact: true }).inputValue();
  assert.match(shown, /^([a-z0-9]{4} ){7}[a-z0-9]{4}$/);

  const events = await page.evaluate(() => window.__mfaEvents);
  assert.equal(events.filter((e) => e.name === 'mfa-verified').length, 1, 'the re-verification is not announced to the page as a sign-in');
  assert.equal(events.filter((e) => e.name === 'mfa-app-password-created').length, 1);
  assert.equal((await server.admin('GET', '/users/lena@example.com')).app_passwords.length, 1, 'cancelled and refused attempts created nothing');

  // The session is recent again: the next change needs no code.
  await ap.getByRole('button', { name: 'Done' }).click();
  await ap.getByLabel('Name').fill('Apple Mail');
  await ap.getByRole('button', { name: 'Create' }).click();
  await ap.getByRole('heading', { name: 'Your new app password' }).waitFor();
});
