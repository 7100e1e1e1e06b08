// The guides' flows (../shared/seeds 000–003) as one person clicks them, one
// per method: sign in → "More information required" → Set it up now → the
// method → recovery codes → the first app password, copied → Done → sign out
// → sign in → the code → "Stay signed in?" Yes → a reload is still signed in.
// The authenticator app's key is read from the QR code itself, as a phone does.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { axe, finishSetUp, jsDir, nextStep, setItUpNow, shot, signIn, startBrowser, startServer, staySignedIn, totp, typeCode } from './harness.mjs';

const jsQR = createRequire(join(jsDir, 'package.json'))('jsqr');

let server;
let browser;
before(async () => {
  server = await startServer();
  // Each flow sends a code at set-up and another at sign-in moments later;
  // the send budget has its own tests (enroll.test.mjs, send_limits.rs).
  await server.admin('PUT', '/settings', { send_gap_secs: 0 });
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Decode the QR code on screen: the SVG drawn on a canvas, its pixels read by jsQR. */
async function scanQr(page) {
  const image = await page.locator('mfa-enroll .mfa-qr svg').evaluate(async (svg) => {
    const size = 600;
    const img = new Image();
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(svg));
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    const g = canvas.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, size, size);
    g.drawImage(img, 0, 0, size, size);
    return { size, data: Array.from(g.getImageData(0, 0, size, size).data) };
  });
  const found = jsQR(Uint8ClampedArray.from(image.data), image.size, image.size);
  assert.ok(found, 'the QR code decodes');
  return found.data;
}

/** The sign-in and set-up start every flow shares; returns the enrol element's body. */
async function firstSignIn(page, account) {
  await signIn(page, server, account);
  await setItUpNow(page);
  return page.locator('mfa-enroll .mfa-body');
}

/** The end every flow shares: codes, first app password, Done, signed in at home. */
async function finishAndCheckHome(page, user) {
  const enroll = page.locator('mfa-enroll .mfa-body');
  assert.equal(await enroll.locator('.mfa-codes li').count(), 10, 'the first method brings recovery codes');
  const copied = await finishSetUp(page);
  assert.match(copied, /^[a-z0-9]{16,}$/i, 'the first app password, copied without spaces');
  await page.getByRole('heading', { name: `Welcome, ${user}` }).waitFor();
  return copied;
}

/** Sign out, sign in again with the code `codeFor()` gives, answer Yes, reload: still signed in. */
async function secondSignIn(page, account, codeFor, { send = null } = {}) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(page, server, account);
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByRole('heading', { name: 'Verify your identity' }).waitFor();
  let mark = null;
  if (send) {
    await verify.getByText(send.says).waitFor();
    mark = server.mark();
    await verify.getByRole('button', { name: send.button }).click();
  }
  await verify.getByLabel('Code', { exact: true }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await typeCode(verify, await codeFor(mark));
  await verify.getByRole('button', { name: 'Verify' }).click();
  await verify.getByRole('heading', { name: 'Stay signed in?' }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await staySignedIn(page, 'Yes');
  await page.getByRole('heading', { name: `Welcome, ${account.user}` }).waitFor();
  const cookie = (await browser.context.cookies()).find((c) => c.name === 'mfa_session');
  assert.ok(cookie.expires > Date.now() / 1000 + 60, 'Yes: the session cookie outlives the browser');
  await page.reload();
  await page.getByRole('heading', { name: `Welcome, ${account.user}` }).waitFor();
  assert.equal(await page.locator('mfa-verify').count(), 0, 'no second factor asked after the reload');
  await page.locator('mfa-security-info').getByRole('heading', { name: 'Security info' }).waitFor();
}

/** The app password works where Outlook would use it. */
async function appPasswordSignsIn(user, password) {
  const res = await fetch(`${server.base}/api/v1/app-passwords/verify`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  assert.equal(res.status, 200, 'the first app password signs the mail app in');
}

test('authenticator app, the key scanned from the QR code, to "Stay signed in?" Yes', async () => {
  const account = await server.createUser('seed-app@example.com');
  const page = await browser.page(server);
  const enroll = await firstSignIn(page, account);
  await enroll.getByRole('radio', { name: 'Authenticator app' }).check();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
  const uri = new URL(await scanQr(page));
  assert.equal(uri.protocol, 'otpauth:');
  assert.equal(uri.host, 'totp');
  assert.match(decodeURIComponent(uri.pathname), /seed-app@example\.com$/, 'the account is named in the URI');
  const secret = uri.searchParams.get('secret');
  assert.match(secret, /^[A-Z2-7]{32}$/);
  // What the page shows under "Can't scan the code?" is the same key.
  await enroll.getByText('Can’t scan the code?').click();
  assert.equal((await enroll.locator('.mfa-key').innerText()).replace(/ /g, ''), secret);
  const usedAt = Date.now() / 1000;
  await typeCode(enroll, totp(secret, usedAt));
  await enroll.getByRole('button', { name: 'Verify' }).click();
  await enroll.getByRole('heading', { name: 'You’re all set' }).waitFor();
  await shot(page, 'seeds-app-all-set');
  const copied = await finishAndCheckHome(page, account.user);
  await appPasswordSignsIn(account.user, copied);

  await secondSignIn(page, account, async () => {
    await nextStep(usedAt);
    return totp(secret);
  });
  await page.close();
});

/** The phone flows: `channel` is the radio's label, `sent` what the set-up says after Next, `send` the sign-in's prompt. */
const phoneFlows = [
  {
    name: 'text message', user: 'seed-text@example.com', number: '(201) 555-0147', masked: '+1 ••••••••47',
    channel: 'Text me a code', sent: 'We texted a code to +1 ••••••••47.',
    send: { says: 'We’ll text a code to +1 ••••••••47.', button: 'Send code' },
  },
  {
    name: 'phone call', user: 'seed-call@example.com', number: '(201) 555-0158', masked: '+1 ••••••••58',
    channel: 'Call me', sent: 'We’re calling +1 ••••••••58',
    send: { says: 'We’ll call +1 ••••••••58 and read out a code.', button: 'Call me' },
  },
];

for (const flow of phoneFlows) {
  test(`${flow.name}, to "Stay signed in?" Yes`, async () => {
    const account = await server.createUser(flow.user);
    const page = await browser.page(server);
    const enroll = await firstSignIn(page, account);
    await enroll.getByRole('radio', { name: 'Phone' }).check();
    await enroll.getByRole('button', { name: 'Next' }).click();
    // The country defaults to the United States, and the hint is a US number.
    await enroll.getByText('(201) 555-0123').waitFor();
    await enroll.getByLabel('Phone number').fill(flow.number);
    await enroll.getByRole('radio', { name: flow.channel }).check();
    const mark = server.mark();
    await enroll.getByRole('button', { name: 'Next' }).click();
    await enroll.getByText(flow.sent).waitFor();
    await typeCode(enroll, await server.code(mark, flow.masked));
    await enroll.getByRole('button', { name: 'Verify' }).click();
    await enroll.getByText('Your phone is set up.').waitFor();
    await shot(page, `seeds-${flow.user.split('@')[0]}-all-set`);
    const copied = await finishAndCheckHome(page, account.user);
    await appPasswordSignsIn(account.user, copied);

    await secondSignIn(page, account, (m) => server.code(m, flow.masked), { send: flow.send });
    await page.close();
  });
}
