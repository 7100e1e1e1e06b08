// The words a person reads for each error: server answers replayed into the
// page for the states that take minutes to reach for real (an expired code,
// a code tried too often, a failed delivery), and a real network failure.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiSession, axe, nextStep, shot, signIn, startBrowser, startServer, totp, typeCode, staySignedIn } from './harness.mjs';

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

const cases = [
  [401, 'wrong_code', 'the code is not correct', 'That code isn’t right. Check it and try again.'],
  [401, 'code_expired', 'the code has expired; ask for a new one', 'That code has expired. Choose “Send a new code” and enter the new one.'],
  [401, 'attempts_exhausted', 'too many wrong attempts for this code; ask for a new one', 'Too many wrong tries with this code. Choose “Send a new code” to get another.'],
  [401, 'replay', 'this code was already used; wait for the next one', 'That code was already used. Wait for your app to show a new code, then enter it.'],
  [502, 'delivery_failed', 'the text could not be sent; ask for a new code or choose another method', 'We couldn’t send the code. Try again, or choose another method.'],
  [401, 'not_signed_in', 'sign in with your user name and password first', 'You’re not signed in, or your sign-in expired. Sign in again with your user name and password.'],
  [503, 'database_unavailable', 'the database is not available', 'Something went wrong on our side. Try again in a moment.'],
];

test('every error has words a person understands; a network failure can be retried', async () => {
  const ivan = await server.createUser('ivan@example.com');
  const call = apiSession(server.base);
  await call('POST', '/sign-in', ivan);
  const reg = await call('POST', '/methods/authenticator', {});
  const secret = reg.manual_key.replace(/\s+/g, '');
  const usedAt = Date.now() / 1000;
  await call('POST', '/methods/confirm', { code: totp(secret, usedAt) });

  const page = await browser.page(server);
  await signIn(page, server, ivan);
  const verify = page.locator('mfa-verify .mfa-body');
  const input = verify.getByLabel('Code', { exact: true });
  const submit = verify.getByRole('button', { name: 'Verify' });
  const error = verify.locator('.mfa-field .mfa-error');
  await input.waitFor();

  for (const [status, code, message, words] of cases) {
    await page.route('**/api/v1/verify', (route) =>
      route.fulfill({ status, contentType: 'application/json', body: JSON.stringify({ error: { code, message } }) }),
    );
    // A whole code in one input event (a paste) submits by itself.
    await input.fill('123456');
    await verify.getByText(words).waitFor();
    assert.equal(await error.innerText(), words);
    assert.equal(await input.getAttribute('aria-invalid'), 'true', `${code}: the input is marked invalid`);
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('autocomplete')), 'one-time-code', `${code}: focus returns to the code`);
    // The same words reach screen readers through the alert region.
    await page.waitForFunction((w) => document.querySelector('mfa-verify [role=alert]').textContent === w, words);
    if (code === 'code_expired') await shot(page, 'error-code-expired');
    await page.unroute('**/api/v1/verify');
  }

  // The network drops: say so, keep the code, and the next try goes through.
  await page.route('**/api/v1/verify', (route) => route.abort('internetdisconnected'));
  await nextStep(usedAt);
  await typeCode(verify, totp(secret));
  await submit.click();
  await verify.getByText('We can’t reach the server. Check your internet connection and try again.').waitFor();
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await shot(page, 'error-network');
  await page.unroute('**/api/v1/verify');
  await submit.click();
  await staySignedIn(page, 'No');
  await page.getByRole('heading', { name: 'Welcome, ivan@example.com' }).waitFor();
  await page.close();
});

test('the first load fails: a message and a way to try again', async () => {
  const page = await browser.page(server);
  await page.route('**/api/v1/session', (route) => route.abort('connectionrefused'));
  await page.goto(`${server.base}/`);
  await page.route('**/api/v1/app-passwords', (route) => route.abort('connectionrefused'));
  await page.evaluate(() => document.body.append(document.createElement('mfa-app-passwords')));
  const el = page.locator('body > mfa-app-passwords .mfa-body');
  await el.getByText('We can’t reach the server.').waitFor();
  await page.unroute('**/api/v1/app-passwords');
  await el.getByRole('button', { name: 'Try again' }).click();
  await el.getByText('You’re not signed in, or your sign-in expired.').waitFor();
  await page.close();
});
