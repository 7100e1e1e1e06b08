// Passkeys and security keys against the real server, in headless Chromium
// with its virtual authenticators (DevTools protocol `WebAuthn.*`). The demo
// page is opened at http://localhost:PORT: WebAuthn needs a domain name, and
// the demo's relying party is `localhost`. Everything the browser produces is
// checked by the server's engine; the attacks played here — a look-alike
// site relaying to the real one, the page at an address of another name, a
// copied key, the same key twice, a cancelled ceremony, a passwordless answer
// from a key that did not verify the person — are refused, and the page says
// what to do. Every ceremony Chromium answered is also handed to a
// second implementation, the server side of the `fido2` package
// (tests/support/fido2_verify.py), whose verdicts must match the engine's.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { axe, finishSetUp, recordEvents, root, setItUpNow, shot, startBrowser, startServer, staySignedIn } from './harness.mjs';

let server;
let browser;
let site;
before(async () => {
  server = await startServer();
  browser = await startBrowser();
  site = server.base.replace('127.0.0.1', 'localhost');
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A new tab (the harness's), with the clipboard allowed at the passkey address too. */
async function newPage() {
  const page = await browser.page(server);
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: site });
  await recordEvents(page);
  return page;
}

/**
 * Record every passkey ceremony of `page` as it crosses the network: the
 * options the engine wrote, the answer the browser sent, and the server's
 * status for it.
 */
function recordCeremonies(page) {
  const seen = [];
  // The options' body is read while the browser may already be answering
  // (the autofill request answers at once), so the answer waits for it.
  let pending = Promise.resolve({});
  page.on('response', async (res) => {
    const path = new URL(res.url()).pathname;
    try {
      if (path.endsWith('/methods/passkey') || path.endsWith('/passkey/options')) {
        if (res.ok()) {
          const kind = path.endsWith('/options') ? 'get' : 'create';
          pending = res.json().then((b) => ({ kind, options: b.options }));
        }
      } else if (path.endsWith('/methods/passkey/confirm') || path.endsWith('/verify/passkey') || path.endsWith('/sign-in/passkey')) {
        const body = JSON.parse(res.request().postData());
        const options = pending;
        seen.push(options.then((o) => ({ ...o, response: body.response, status: res.status() })));
      }
    } catch (e) {
      seen.push(Promise.resolve({ error: String(e) }));
    }
  });
  return seen;
}

/** The verdicts of the independent verifier on these ceremonies. */
function independently(origin, ceremonies) {
  const python = process.env.MFA_PYTHON || join(root, '.venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`${python} is missing: \`cargo xtask test\` makes .venv with the fido2 package (or set MFA_PYTHON)`);
  const job = JSON.stringify({ rp_id: 'localhost', origin, ceremonies: ceremonies.map(({ kind, options, response }) => ({ kind, options, response })) });
  const out = execFileSync(python, [join(root, 'tests', 'support', 'fido2_verify.py')], { input: job, encoding: 'utf8' });
  return JSON.parse(out);
}

/** A virtual authenticator on `page`: a platform passkey by default, or a USB security key. */
async function authenticator(page, options = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...options,
    },
  });
  const key = {
    cdp,
    id: authenticatorId,
    touches: options.automaticPresenceSimulation ?? true,
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    remove: async () => {
      keysOf(page).delete(key);
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    },
    presence: async (enabled) => {
      key.touches = enabled;
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
    },
  };
  keysOf(page).add(key);
  return key;
}

const keysByPage = new WeakMap();
function keysOf(page) {
  if (!keysByPage.has(page)) keysByPage.set(page, new Set());
  return keysByPage.get(page);
}

/**
 * Sign in on the demo page at `base` with the password. The page also waits
 * for a passkey from the user-name autofill, which Chromium's virtual
 * authenticators answer at once, as a person picking it would: the person
 * here types instead, so the keys are not touched until the password is sent
 * (which stops that request).
 */
async function signIn(page, base, user, password) {
  const keys = [...keysOf(page)].filter((k) => k.touches);
  for (const k of keys) await k.presence(false);
  await page.goto(base + '/');
  await page.getByLabel('Email or user name').fill(user);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('#sign-in').waitFor({ state: 'hidden' });
  for (const k of keys) await k.presence(true);
}

/** "Set it up now" with a passkey named `name`; returns the recovery codes shown. */
async function setUpWithPasskey(page, name) {
  const enroll = page.locator('mfa-enroll .mfa-body');
  await setItUpNow(page);
  await enroll.getByRole('radio', { name: 'Passkey or security key' }).check();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByRole('heading', { name: 'Set up a passkey or security key' }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await shot(page, 'passkey-set-up');
  await enroll.getByLabel('Name (optional)').fill(name);
  await enroll.getByRole('button', { name: 'Create passkey' }).click();
  await enroll.getByRole('heading', { name: 'You’re all set' }).waitFor();
  await enroll.getByText('Your passkey is set up. You’ll use it when you sign in.').waitFor();
  const codes = (await enroll.locator('.mfa-codes li').allInnerTexts()).map((c) => c.trim());
  assert.equal(codes.length, 10, 'recovery codes come with the first method, as with any other');
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await finishSetUp(page);
  return codes;
}

/** Sign in with the password and then the passkey; returns the `mfa-verified` event's detail. */
async function signInWithPasskey(page, base, user, password) {
  await signIn(page, base, user, password);
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByText('Use your passkey or security key. Your browser will ask you to choose it.').waitFor();
  await verify.getByRole('button', { name: 'Use passkey' }).click();
  await staySignedIn(page, 'No');
  await page.getByRole('heading', { name: `Welcome, ${user}` }).waitFor();
  const events = await page.evaluate(() => window.__mfaEvents);
  return events.filter((e) => e.name === 'mfa-verified').at(-1).detail;
}

/** The `amr` claim of the session cookie's token (what a gateway reads). */
async function sessionAmr(page) {
  const cookie = (await page.context().cookies(site)).find((c) => c.name === 'mfa_session');
  assert.ok(cookie, 'a session cookie was set');
  const payload = JSON.parse(Buffer.from(cookie.value.split('.')[1], 'base64url').toString('utf8'));
  return payload.amr;
}

/** Forget the sign-in (cookies) but keep the tab and its authenticators. */
async function signOut(page) {
  await page.context().clearCookies();
}

/**
 * A new user who set up a passkey named `name` at "Set it up now", on a new
 * tab with a platform authenticator; returns what the test goes on with.
 */
async function userWithPasskey(user, password, name) {
  await server.createUser(user, password);
  const page = await newPage();
  const ceremonies = recordCeremonies(page);
  const key = await authenticator(page);
  await signIn(page, site, user, password);
  await setUpWithPasskey(page, name);
  await page.getByRole('heading', { name: `Welcome, ${user}` }).waitFor();
  return { page, ceremonies, key };
}

test('a passkey: set up at "Set it up now", sign in with it (amr hwk), a second key from Security info, delete one', async () => {
  const user = 'pia@example.com';
  const password = 'correct horse battery';
  const { page, ceremonies, key: platform } = await userWithPasskey(user, password, 'Laptop');

  const made = await platform.credentials();
  assert.equal(made.length, 1, 'the authenticator holds one credential');
  assert.equal(made[0].rpId, 'localhost');
  assert.equal(made[0].isResidentCredential, true, 'a discoverable credential (resident key preferred)');
  let record = await server.admin('GET', `/users/${user}`);
  assert.deepEqual(record.methods.map((m) => [m.method_type, m.kind.name]), [['passkey', 'Laptop']]);
  assert.equal(record.methods[0].kind.user_verified, true);

  // Sign in again: the password, then the passkey instead of a code.
  await signOut(page);
  const verified = await signInWithPasskey(page, site, user, password);
  assert.deepEqual(verified.amr, ['hwk', 'user'], 'a device-bound key that verified the person');
  assert.deepEqual(await sessionAmr(page), ['pwd', 'hwk', 'user', 'mfa'], 'the session token says so too');
  const counted = (await platform.credentials())[0].signCount;
  assert.ok(counted >= 1, 'the key counted the sign-in');

  // A second key, a USB security key without user verification, from Security info.
  const info = page.locator('mfa-security-info');
  await info.getByRole('row', { name: /Passkey or security key.*Laptop/ }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-security-info'), []);
  await shot(page, 'passkey-security-info');
  await platform.remove();
  const usb = await authenticator(page, { transport: 'usb', hasResidentKey: false, hasUserVerification: false, isUserVerified: false });
  await info.getByRole('button', { name: 'Add sign-in method' }).click();
  const enroll = info.locator('mfa-enroll .mfa-body');
  await enroll.getByRole('radio', { name: 'Passkey or security key' }).check();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByLabel('Name (optional)').fill('YubiKey');
  await enroll.getByRole('button', { name: 'Create passkey' }).click();
  await enroll.getByRole('heading', { name: 'You’re all set' }).waitFor();
  await enroll.getByRole('button', { name: 'Continue' }).click();
  await info.getByRole('row', { name: /Passkey or security key.*YubiKey/ }).waitFor();
  assert.equal((await usb.credentials()).length, 1);
  record = await server.admin('GET', `/users/${user}`);
  assert.deepEqual(record.methods.map((m) => m.kind.name).sort(), ['Laptop', 'YubiKey']);

  // Delete the laptop's passkey; the security key is left, and signs in.
  await info.getByRole('button', { name: 'Delete Passkey or security key: Laptop' }).click();
  await info.getByRole('button', { name: 'Delete', exact: true }).click();
  await info.locator('.mfa-confirm', { hasText: 'Deleted Passkey or security key: Laptop.' }).waitFor();
  record = await server.admin('GET', `/users/${user}`);
  assert.deepEqual(record.methods.map((m) => m.kind.name), ['YubiKey']);
  await signOut(page);
  const again = await signInWithPasskey(page, site, user, password);
  assert.deepEqual(again.amr, ['hwk'], 'a key without user verification');
  assert.deepEqual(await sessionAmr(page), ['pwd', 'hwk', 'mfa']);
  await page.close();

  // Another implementation agrees with every one of these verdicts.
  const recorded = await Promise.all(ceremonies);
  assert.deepEqual(recorded.map((c) => [c.kind, c.status]), [['create', 200], ['get', 200], ['create', 200], ['get', 200]]);
  const verdicts = independently(site, recorded);
  assert.deepEqual(verdicts.map((v) => [v.kind, v.accepted, v.reason]), [['create', true, ''], ['get', true, ''], ['create', true, ''], ['get', true, '']]);
});

test('attacks: the same key twice, a copied key, a look-alike site relaying to the real one, another address, a cancelled request', async () => {
  const user = 'quinn@example.com';
  const password = 'correct horse battery';
  const { page, ceremonies, key } = await userWithPasskey(user, password, 'Phone');

  // The same authenticator again: the browser refuses (the engine listed the key to exclude).
  const info = page.locator('mfa-security-info');
  await info.getByRole('button', { name: 'Add sign-in method' }).click();
  const enroll = info.locator('mfa-enroll .mfa-body');
  await enroll.getByRole('radio', { name: 'Passkey or security key' }).check();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByRole('button', { name: 'Create passkey' }).click();
  await enroll.getByText('This passkey or security key is already registered for your account. Use another one.').waitFor();
  assert.equal((await key.credentials()).length, 1, 'no second credential was made');
  assert.equal((await server.admin('GET', `/users/${user}`)).methods.length, 1);

  // A copied key: the same credential with an older counter. The engine refuses it.
  await signOut(page);
  await signInWithPasskey(page, site, user, password);
  const [cred] = await key.credentials();
  assert.ok(cred.signCount >= 1);
  await key.cdp.send('WebAuthn.removeCredential', { authenticatorId: key.id, credentialId: cred.credentialId });
  await key.cdp.send('WebAuthn.addCredential', { authenticatorId: key.id, credential: { ...cred, signCount: 0 } });
  await signOut(page);
  await signIn(page, site, user, password);
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByRole('button', { name: 'Use passkey' }).click();
  await verify.getByText('This security key looks like a copy of the one you registered, so it wasn’t accepted.', { exact: false }).waitFor();
  await shot(page, 'passkey-copied-key');
  let events = await page.evaluate(() => window.__mfaEvents.filter((e) => e.name === 'mfa-verified'));
  assert.equal(events.length, 0, 'not signed in');

  // A look-alike site on another port that relays every request to the real
  // server (a phishing proxy). The browser signs for the look-alike's origin;
  // the engine refuses it, so a relayed sign-in gets nothing.
  const target = new URL(server.base);
  const relay = http.createServer((req, res) => {
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((resolve) => relay.listen(0, '127.0.0.1', resolve));
  try {
    const fake = `http://localhost:${relay.address().port}`;
    await signOut(page);
    await signIn(page, fake, user, password);
    await verify.getByRole('button', { name: 'Use passkey' }).click();
    await verify.getByText('Passkeys don’t work at this address of the site.', { exact: false }).waitFor();
    events = await page.evaluate(() => window.__mfaEvents.filter((e) => e.name === 'mfa-error').map((e) => e.detail.code));
    assert.ok(events.includes('passkey_refused'), `the engine refused it: ${events}`);
    // The other implementation, told the real site's origin, refuses it too;
    // the registration before it, it accepts.
    const recorded = await Promise.all(ceremonies);
    const relayed = recorded.at(-1);
    assert.equal(relayed.status, 401);
    assert.equal(JSON.parse(Buffer.from(relayed.response.response.clientDataJSON, 'base64url')).origin, fake, 'the browser signed for the look-alike');
    const [made, copy] = [recorded[0], recorded.find((c) => c.kind === 'get' && c.status === 200)];
    const verdicts = independently(site, [made, copy, relayed]);
    assert.deepEqual(verdicts.map((v) => v.accepted), [true, true, false]);
    assert.match(verdicts[2].reason, /origin/i);
  } finally {
    relay.close();
  }

  // The page at an address whose name is not the relying party's (127.0.0.1): the browser refuses.
  await signOut(page);
  await signIn(page, server.base, user, password);
  await verify.getByRole('button', { name: 'Use passkey' }).click();
  await verify.getByText('Passkeys don’t work at this address of the site.', { exact: false }).waitFor();

  // A cancelled request: the key waits for a touch that never comes; Cancel stops it.
  await signOut(page);
  await key.presence(false);
  await signIn(page, site, user, password);
  await verify.getByRole('button', { name: 'Use passkey' }).click();
  await verify.getByText('Follow your browser’s steps to use your passkey.').waitFor();
  await verify.getByRole('button', { name: 'Cancel' }).click();
  await verify.getByText('The passkey request was cancelled or timed out.', { exact: false }).waitFor();
  assert.deepEqual(await axe(page, 'mfa-verify'), []);
  await shot(page, 'passkey-cancelled');
  // And then a touch: signed in.
  await key.presence(true);
  await verify.getByRole('button', { name: 'Use passkey' }).click();
  await staySignedIn(page, 'No');
  await page.getByRole('heading', { name: `Welcome, ${user}` }).waitFor();
  await page.close();
});

test('passwordless: the passkey offered in the user-name autofill and behind "Sign in with a passkey" signs in with no password', async () => {
  const user = 'rosa@example.com';
  const password = 'correct horse battery';
  const { page, ceremonies, key } = await userWithPasskey(user, password, 'Laptop');

  // The sign-in page: the user-name field takes passkeys in its autofill,
  // and the browser is asked for one at once (conditional mediation).
  await signOut(page);
  const optionsAsked = page.waitForResponse((r) => r.url().endsWith('/sign-in/passkey/options'));
  await page.goto(site + '/');
  assert.equal(await page.getByLabel('Email or user name').getAttribute('autocomplete'), 'username webauthn');
  assert.equal((await optionsAsked).status(), 200);
  assert.equal(await page.evaluate(() => PublicKeyCredential.isConditionalMediationAvailable()), true, 'Chromium offers passkeys in autofill');
  // Chromium answers a conditional request with its virtual authenticator's
  // discoverable credential, as a person picking it from the autofill.
  await staySignedIn(page, 'No');
  await page.getByRole('heading', { name: `Welcome, ${user}` }).waitFor();
  assert.deepEqual(await sessionAmr(page), ['hwk', 'user', 'mfa'], 'no password: the key did both factors');
  assert.equal(await page.locator('#password').inputValue(), '', 'nothing was typed');

  // "Sign in with a passkey": the same, in the browser's own dialog.
  await signOut(page);
  await key.presence(false);
  await page.goto(site + '/');
  const button = page.getByRole('button', { name: 'Sign in with a passkey' });
  await button.waitFor();
  assert.deepEqual(await axe(page, '#sign-in'), []);
  await shot(page, 'passwordless-sign-in');
  await key.presence(true);
  await button.click();
  await staySignedIn(page, 'No');
  await page.getByRole('heading', { name: `Welcome, ${user}` }).waitFor();
  assert.deepEqual(await sessionAmr(page), ['hwk', 'user', 'mfa']);

  // A key that only sees a person, without verifying them: no sign-in.
  await signOut(page);
  await key.presence(false);
  await key.cdp.send('WebAuthn.setUserVerified', { authenticatorId: key.id, isUserVerified: false });
  await page.goto(site + '/');
  await button.waitFor();
  await key.presence(true);
  await button.click();
  await page.locator('#sign-in-error').waitFor();
  assert.notEqual(await page.locator('#sign-in-error').innerText(), '');
  assert.equal((await page.context().cookies(site)).find((c) => c.name === 'mfa_session'), undefined, 'not signed in');
  await key.cdp.send('WebAuthn.setUserVerified', { authenticatorId: key.id, isUserVerified: true });

  // At an address passkeys do not belong to, the page does not offer them.
  await page.goto(server.base + '/');
  await page.getByLabel('Email or user name').waitFor();
  await page.waitForTimeout(500);
  assert.equal(await button.isVisible(), false, 'no passkey button at 127.0.0.1');
  await page.close();

  // The other implementation accepts the registration and both passwordless sign-ins.
  const done = (await Promise.all(ceremonies)).filter((c) => c.status === 200);
  assert.deepEqual(done.map((c) => c.kind), ['create', 'get', 'get']);
  const verdicts = independently(site, done);
  assert.deepEqual(verdicts.map((v) => [v.kind, v.accepted, v.reason]), [['create', true, ''], ['get', true, ''], ['get', true, '']]);
});
