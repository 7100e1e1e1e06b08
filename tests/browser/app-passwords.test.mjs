// <mfa-app-passwords> against the real server: create (shown once, copied),
// the password accepted by the server's verify endpoint, listed with "last
// used", a duplicate name refused, deleted and then refused.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiSession, axe, recordEvents, shot, signIn, startBrowser, startServer, totp, nextStep, typeCode, staySignedIn } from './harness.mjs';

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

async function gatewayCheck(user, password) {
  const res = await fetch(`${server.base}/api/v1/app-passwords/verify`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  return { status: res.status, body: await res.json() };
}

test('create, copy, use, list, delete an app password', async () => {
  const jane = await server.createUser('jane@example.com');
  const call = apiSession(server.base);
  await call('POST', '/sign-in', jane);
  const reg = await call('POST', '/methods/authenticator', {});
  const secret = reg.manual_key.replace(/\s+/g, '');
  const usedAt = Date.now() / 1000;
  await call('POST', '/methods/confirm', { code: totp(secret, usedAt) });

  const page = await browser.page(server);
  await recordEvents(page);
  await signIn(page, server, jane);
  await nextStep(usedAt);
  await typeCode(page.locator('mfa-verify .mfa-body'), totp(secret));
  await page.locator('mfa-verify .mfa-body').getByRole('button', { name: 'Verify' }).click();
  await staySignedIn(page, 'No');
  const ap = page.locator('mfa-app-passwords .mfa-body');
  await ap.getByRole('heading', { name: 'App passwords', exact: true }).waitFor();
  await ap.getByText('You have no app passwords.').waitFor();
  assert.deepEqual(await axe(page, 'mfa-app-passwords'), []);

  await ap.getByLabel('Name').fill('Outlook on my laptop');
  await ap.getByRole('button', { name: 'Create' }).click();
  await ap.getByRole('heading', { name: 'Your new app password' }).waitFor();
  await ap.getByText('Copy it now. It won’t be shown again.').waitFor();
  const shown = await ap.getByLabel('App password', { exact: true }).inputValue();
  assert.match(shown, /^([a-z0-9]{4} ){7}[a-z0-9]{4}$/, 'shown in groups of four');
  assert.deepEqual(await axe(page, 'mfa-app-passwords'), []);
  await shot(page, 'app-password-created');
  await ap.getByRole('button', { name: 'Copy', exact: true }).click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, shown.replace(/ /g, ''));
  const events = await page.evaluate(() => window.__mfaEvents);
  assert.ok(events.some((e) => e.name === 'mfa-app-password-created' && e.detail.name === 'Outlook on my laptop'));
  assert.ok(!JSON.stringify(events).includes(copied), 'the password never goes into an event');

  // What Outlook would do through a gateway.
  const ok = await gatewayCheck('jane@example.com', copied);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.name, 'Outlook on my laptop');

  await ap.getByRole('button', { name: 'Done' }).click();
  await ap.getByLabel('App password', { exact: true }).waitFor({ state: 'detached' });
  assert.ok(!(await page.content()).includes(copied.slice(4, 12)), 'the password is gone from the page');
  assert.equal(await page.evaluate(() => document.activeElement.id === document.querySelector('mfa-app-passwords label[for]').htmlFor), true, 'focus is back on the name field');
  const row = ap.getByRole('row', { name: /Outlook on my laptop/ });
  await row.waitFor();
  // "Last used" is filled in after the use above (shown on the next load).
  await page.reload();
  await page.getByRole('heading', { name: 'Welcome, jane@example.com' }).waitFor();
  const cells = await ap.getByRole('row', { name: /Outlook on my laptop/ }).locator('td').allInnerTexts();
  assert.notEqual(cells[1], 'Never', `last used is shown: ${cells}`);
  await shot(page, 'app-passwords-list');

  // A second one with the same name is refused with words.
  await ap.getByLabel('Name').fill('Outlook on my laptop');
  await ap.getByRole('button', { name: 'Create' }).click();
  await ap.getByText('You already have an app password with this name. Choose another name.').waitFor();

  // Delete: asked first, then gone, and refused by the server from then on.
  await ap.getByRole('button', { name: 'Delete Outlook on my laptop' }).click();
  await ap.getByText('Delete “Outlook on my laptop”? Apps that use it will stop signing in.').waitFor();
  assert.deepEqual(await axe(page, 'mfa-app-passwords'), []);
  await shot(page, 'app-password-delete-confirm');
  await ap.getByRole('button', { name: 'Delete', exact: true }).click();
  await ap.getByText('You have no app passwords.').waitFor();
  // A sighted person sees it worked, not only a screen reader.
  assert.equal(await ap.locator('.mfa-confirm').innerText(), 'Deleted “Outlook on my laptop”.');
  assert.ok(await ap.locator('.mfa-confirm').isVisible());
  const refused = await gatewayCheck('jane@example.com', copied);
  assert.equal(refused.status, 401);
  await page.close();
});
