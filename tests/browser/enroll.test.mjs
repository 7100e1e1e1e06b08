// <mfa-enroll> against the real server: authenticator app (code computed here
// from the key on screen), text message and email (codes from the server's
// demo delivery), re-registration required by an administrator.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { axe, finishSetUp, recordEvents, setItUpNow, shot, signIn, startBrowser, startServer, totp, nextStep, typeCode } from './harness.mjs';

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

/** Finish the authenticator step from what the page shows; returns the secret and when its code was used. */
async function enrolAuthenticator(page, name) {
  const enroll = page.locator('mfa-enroll .mfa-body');
  await enroll.getByRole('radio', { name: 'Authenticator app' }).check();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
  const qr = enroll.locator('.mfa-qr svg');
  assert.match(await qr.getAttribute('aria-label'), /^QR code for .+: /);
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('autocomplete')), 'one-time-code', 'focus is on the code input');
  await enroll.getByText('Can’t scan the code?').click();
  const key = (await enroll.locator('.mfa-key').innerText()).trim();
  assert.match(key, /^[A-Z2-7]{4}( [A-Z2-7]{4})+$/, 'the key is shown in groups of four');
  await shot(page, `${name}-authenticator`);
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  const secret = key.replace(/ /g, '');
  const now = Date.now() / 1000;
  await typeCode(enroll, totp(secret, now));
  await enroll.getByRole('button', { name: 'Verify' }).click();
  await enroll.getByRole('heading', { name: 'You’re all set' }).waitFor();
  return { secret, usedAt: now };
}

test('authenticator app: QR code and key, a code computed from the key, recovery codes to copy and download', async () => {
  const alice = await server.createUser('alice@example.com');
  const page = await browser.page(server);
  await recordEvents(page);
  await signIn(page, server, alice);
  const enroll = page.locator('mfa-enroll .mfa-body');
  // As in Microsoft 365: "More information required", then "Set it up now".
  await enroll.getByRole('heading', { name: 'More information required' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Set it up now', 'focus is on the button');
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await shot(page, 'enroll-more-information');
  await setItUpNow(page);
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await shot(page, 'enroll-choose');

  // A code from a phone whose clock is two minutes behind: refused, and the page says why.
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByText('Can’t scan the code?').click();
  const key = (await enroll.locator('.mfa-key').innerText()).replace(/ /g, '');
  assert.equal(key.length, 32, 'a 160-bit key');
  await typeCode(enroll, totp(key, Date.now() / 1000 - 120));
  await enroll.getByRole('button', { name: 'Verify' }).click();
  await enroll.getByText('That code isn’t right').waitFor();
  await enroll.getByText(/clock seems to be about 2 minutes behind/).waitFor();
  assert.equal(await enroll.getByLabel('Code', { exact: true }).getAttribute('aria-invalid'), 'true');
  await shot(page, 'enroll-authenticator-drift');

  // Back, and again with a good code.
  await enroll.getByRole('button', { name: 'Back' }).click();
  const { secret } = await enrolAuthenticator(page, 'enroll');
  assert.notEqual(secret, key, 'starting again gives a new key');

  const codes = (await enroll.locator('.mfa-codes li').allInnerTexts()).map((c) => c.trim());
  assert.equal(codes.length, 10);
  for (const c of codes) assert.match(c, /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/);
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await shot(page, 'enroll-done-recovery-codes');

  await enroll.getByRole('button', { name: 'Copy codes' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), codes.join('\n'));
  const [download] = await Promise.all([page.waitForEvent('download'), enroll.getByRole('button', { name: 'Download codes' }).click()]);
  const file = readFileSync(await download.path(), 'utf8');
  for (const c of codes) assert.ok(file.includes(c), 'the downloaded file has every code');
  assert.equal(download.suggestedFilename(), 'recovery-codes.txt');

  // Next asks to confirm the codes were saved first.
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByText('Save your recovery codes first').waitFor();
  await enroll.getByLabel('I have saved my recovery codes').check();
  // Then, as in Microsoft 365, an app password "that you can use with Outlook, Apple Mail, etc.", shown once.
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByRole('heading', { name: 'Your app password' }).waitFor();
  await enroll.getByText('that you can use with Outlook, Apple Mail, etc.').waitFor();
  await enroll.getByText('Copy it now. It won’t be shown again.').waitFor();
  const shown = await enroll.getByLabel('App password', { exact: true }).inputValue();
  assert.match(shown, /^[a-z0-9]{4}( [a-z0-9]{4})+$/i, 'grouped for reading');
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await shot(page, 'enroll-first-app-password');
  await enroll.getByRole('button', { name: 'Copy' }).click();
  // A sighted person sees that Copy worked, beside the button.
  await enroll.getByText('✓ Copied').waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, shown.replace(/ /g, ''));
  const gate = await fetch(`${server.base}/api/v1/app-passwords/verify`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: 'alice@example.com', password: copied }),
  });
  assert.equal(gate.status, 200, 'the first app password signs Outlook in');
  await enroll.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('heading', { name: 'Welcome, alice@example.com' }).waitFor();
  assert.ok(!(await page.content()).includes(copied.slice(4, 12)), 'the password is gone from the page');
  await page.locator('mfa-app-passwords').getByRole('row', { name: /Created at set-up/ }).waitFor();

  const events = await page.evaluate(() => window.__mfaEvents);
  const enrolled = events.find((e) => e.name === 'mfa-enrolled');
  assert.equal(enrolled.detail.type, 'authenticator_app');
  assert.equal(enrolled.detail.recoveryCodesIssued, true);
  assert.ok(!JSON.stringify(events).includes(codes[0]), 'recovery codes never go into events');
  assert.ok(!JSON.stringify(events).includes(copied), 'the app password never goes into events');
  assert.ok(events.some((e) => e.name === 'mfa-done'));
  // The engine behind the server explained the wrong code: the phone's clock, 120 s behind.
  assert.ok(events.some((e) => e.name === 'mfa-error' && e.detail.code === 'clock_drift'));
  await page.close();
});

test('text message: country and number, a new code sent, the code from the delivery', async () => {
  const bob = await server.createUser('bob@example.com');
  const page = await browser.page(server);
  await signIn(page, server, bob);
  await setItUpNow(page);
  const enroll = page.locator('mfa-enroll .mfa-body');
  await enroll.getByRole('radio', { name: 'Phone' }).check();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByLabel('Country or region').selectOption({ label: 'United Kingdom (+44)' });
  // A mistyped number is refused before anything is sent.
  await enroll.getByLabel('Phone number').fill('12');
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByText('Check the phone number: it is too short.').waitFor();
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await shot(page, 'enroll-phone-invalid');

  await enroll.getByLabel('Phone number').fill('07700 900123');
  await enroll.getByRole('radio', { name: 'Text me a code' }).check();
  let mark = server.mark();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByText('We texted a code to +44 ••••••••23.').waitFor();
  const first = await server.code(mark, '+44 ••••••••23');

  // Straight away, a new code is refused (the send budget's gap): the page
  // says how long to wait and holds the button until then; nothing is sent.
  mark = server.mark();
  const resend = enroll.getByRole('button', { name: 'Send a new code' });
  await resend.click();
  await enroll.getByText(/Wait before asking for another code: you can ask again in \d+ seconds?\./).waitFor();
  assert.equal(await resend.isDisabled(), true, 'held until the wait ends');
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await shot(page, 'enroll-text-send-limit');
  assert.equal(server.deliveries(mark), 0, 'no delivery was attempted');
  // When the wait ends (30 s after the first code) the button comes back by itself.
  await page.waitForFunction(() => !document.querySelector('mfa-enroll .mfa-body button[data-locked]'), null, { timeout: 45_000 });
  mark = server.mark();
  await resend.click();
  await enroll.getByText('A new code is on its way to +44 ••••••••23').waitFor();
  const second = await server.code(mark, '+44 ••••••••23');
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await shot(page, 'enroll-text-code-resent');

  if (first !== second) {
    // Only the newest code works.
    await typeCode(enroll, first);
    await enroll.getByRole('button', { name: 'Verify' }).click();
    await enroll.locator('.mfa-error:not([hidden])').waitFor();
  }
  await typeCode(enroll, second);
  await enroll.getByRole('button', { name: 'Verify' }).click();
  await enroll.getByRole('heading', { name: 'You’re all set' }).waitFor();
  await enroll.getByText('Your phone is set up.').waitFor();
  await page.close();
});

test('email: the address, the code from the delivery; a call needs the code read out', async () => {
  const carol = await server.createUser('carol@example.com');
  const page = await browser.page(server);
  await signIn(page, server, carol);
  await setItUpNow(page);
  const enroll = page.locator('mfa-enroll .mfa-body');
  await enroll.getByRole('radio', { name: 'Email' }).check();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByLabel('Email address').fill('carol.home');
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByText('Check the email address: it must look like name@example.com.').waitFor();
  await enroll.getByLabel('Email address').fill('carol@home.example.net');
  const mark = server.mark();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByText(/We emailed a code to c•••@home\.example\.net/).waitFor();
  const code = await server.code(mark, 'c•••@home.example.net');
  await shot(page, 'enroll-email-code');
  await typeCode(enroll, code);
  await enroll.getByRole('button', { name: 'Verify' }).click();
  await enroll.getByText('Your email address is set up.').waitFor();
  assert.equal(await enroll.locator('.mfa-codes li').count(), 10, 'the first method brings recovery codes');
  await finishSetUp(page);

  // Signed in with MFA: Security info lists the method; add a phone that gets a call.
  const info = page.locator('mfa-security-info');
  await info.getByRole('heading', { name: 'Security info' }).waitFor();
  await info.getByRole('row', { name: /Email.*c•••@home\.example\.net/ }).waitFor();
  await info.getByRole('button', { name: 'Add sign-in method' }).click();
  const add = page.locator('mfa-security-info mfa-enroll .mfa-body');
  await add.getByRole('heading', { name: 'Add a sign-in method' }).waitFor();
  await add.getByRole('radio', { name: 'Phone' }).check();
  await add.getByRole('button', { name: 'Next' }).click();
  await add.getByLabel('Phone number').fill('+1 425 555 0123');
  await add.getByRole('radio', { name: 'Call me' }).check();
  const callMark = server.mark();
  await add.getByRole('button', { name: 'Next' }).click();
  await add.getByText('We’re calling +1 ••••••••23').waitFor();
  await typeCode(add, await server.code(callMark, '+1 ••••••••23'));
  await add.getByRole('button', { name: 'Verify' }).click();
  // The email address stays the default, and the page says so.
  await add.getByText('Your phone is set up. Sign-in still asks for your email address first').waitFor();
  assert.equal(await add.locator('.mfa-codes').count(), 0, 'no new recovery codes for a further method');
  await add.getByRole('button', { name: 'Continue' }).click();
  await info.locator('.mfa-confirm', { hasText: 'Your new sign-in method is added.' }).waitFor();
  await info.getByRole('row', { name: /Phone call.*\+1 ••••••••23/ }).waitFor();
  await info.getByRole('row', { name: /Email.*Default/ }).waitFor();
  await page.close();
});

test('re-registration required by the administrator', async () => {
  const dave = await server.createUser('dave@example.com');
  const page = await browser.page(server);
  await signIn(page, server, dave);
  await setItUpNow(page);
  const { usedAt } = await enrolAuthenticator(page, 'reregister-first');
  await server.admin('POST', '/users/dave@example.com/require-reregistration');

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await signIn(page, server, dave);
  const enroll = page.locator('mfa-enroll .mfa-body');
  await enroll.getByRole('heading', { name: 'Set up your security info again' }).waitFor();
  await enroll.getByText('Your administrator asked you to set up your sign-in methods again').waitFor();
  await shot(page, 'enroll-reregister');
  await nextStep(usedAt);
  await enrolAuthenticator(page, 'reregister-again');
  const user = await server.admin('GET', '/users/dave@example.com');
  assert.equal(user.must_reregister, false);
  assert.equal(user.methods.length, 1, 'the new method replaced the old one');
  await page.close();
});
