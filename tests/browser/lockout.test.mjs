// Wrong codes in a row: "isn't right", then a wait that counts down with the
// button disabled, then the locked state with its end time, also after a reload.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiSession, axe, shot, signIn, startBrowser, startServer, totp } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await startBrowser();
  // Reach the lock in a few attempts: one free failure, then 3 s waits, locked at the 4th.
  await server.admin('PUT', '/settings', { free_failures: 1, backoff_base_secs: 3, backoff_max_secs: 3, lockout_threshold: 4, lockout_secs: 600 });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('repeated wrong codes: a countdown, then locked until a time', async () => {
  const hugo = await server.createUser('hugo@example.com');
  const call = apiSession(server.base);
  await call('POST', '/sign-in', hugo);
  const reg = await call('POST', '/methods/authenticator', {});
  const secret = reg.manual_key.replace(/\s+/g, '');
  await call('POST', '/methods/confirm', { code: totp(secret) });

  const page = await browser.page(server);
  await signIn(page, server, hugo);
  const verify = page.locator('mfa-verify .mfa-body');
  const input = verify.getByLabel('Code', { exact: true });
  const submit = verify.getByRole('button', { name: 'Verify' });
  await input.waitFor();
  // A code that is wrong now and in the neighbouring steps.
  const near = [-30, 0, 30].map((d) => totp(secret, Date.now() / 1000 + d));
  const wrong = ['111111', '222222', '333333', '444444'].find((c) => !near.includes(c));
  const error = verify.locator('.mfa-field .mfa-error');

  const seen = new Set();
  for (let attempt = 0; attempt < 12 && !seen.has('locked'); attempt++) {
    await submit.waitFor({ state: 'visible' });
    await page.waitForFunction(() => !document.querySelector('mfa-verify button[type=submit]').disabled);
    await input.fill(wrong); // a whole code at once submits by itself
    await page.waitForFunction(() => {
      const e = document.querySelector('mfa-verify .mfa-field .mfa-error');
      return e && !e.hidden && e.textContent;
    });
    const text = await error.innerText();
    if (text.includes('That code isn’t right')) seen.add('wrong');
    else if (text.includes('You can try again in')) {
      if (!seen.has('wait')) {
        assert.equal(await submit.isDisabled(), true, 'Verify is disabled during the wait');
        await shot(page, 'lockout-wait');
      }
      seen.add('wait');
    } else if (text.includes('locked until')) seen.add('locked');
    else assert.fail(`unexpected message: ${text}`);
    await page.evaluate(() => {
      const e = document.querySelector('mfa-verify .mfa-field .mfa-error');
      e.hidden = true;
    });
  }
  assert.deepEqual([...seen].sort(), ['locked', 'wait', 'wrong']);
  await error.evaluate((e) => (e.hidden = false));
  assert.match(await error.innerText(), /this method is locked until .+\. Use another method, or ask your administrator to unlock it\./);
  assert.equal(await submit.isDisabled(), true, 'Verify stays disabled while locked');
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await shot(page, 'lockout-locked');

  // A new visit: the server says the authenticator is locked; recovery codes remain.
  await page.reload();
  await page.locator('mfa-verify .mfa-body').waitFor();
  await page.waitForFunction(() => !document.querySelector('mfa-verify [aria-busy=true]'));
  const shown = await page.locator('mfa-verify .mfa-body').innerText();
  assert.ok(!shown.includes('Enter the code shown in your authenticator app'), 'the locked method is not offered');
  assert.ok(/Recovery code|locked/.test(shown), shown);
  assert.match(shown, /Not available right now: authenticator app\. It’s locked after too many failed attempts/);
  await shot(page, 'lockout-after-reload');
  await page.close();
});
