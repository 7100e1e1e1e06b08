// The README's first command, run exactly as written (read from README.md) in
// a fresh copy of the working tree, the way a newcomer runs it: it must build
// what it needs, print the banner and serve the demo until Ctrl-C.
//
// Run: node --test tests/readme/      (from the repository root)
//
// The copy keeps the files' times and shares the repository's cargo target
// directory, so a suite that has already built everything spends its time on
// the demo, not on a second build. A demo that does not come up fails this
// test with the last lines of its output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { copyWorkingTree, readmeCommand, root } from './support/repo.mjs';
import { startCommand, portIsFree } from './support/process.mjs';
import { Client } from './support/http.mjs';
import { totpFromUri } from '../support/totp.mjs';

// A cold first run compiles the server, the component and the widget.
const FIRST_START_MS = 30 * 60 * 1000;
const SECOND_START_MS = 5 * 60 * 1000;

function demoEnv() {
  const env = {};
  // A newcomer's shell has none of the suite's own settings.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MFA_')) env[k] = v;
  env.CARGO_TARGET_DIR = process.env.CARGO_TARGET_DIR || join(root, 'target');
  return env;
}

/** Parse the banner the demo prints. */
function banner(lines) {
  const find = (re) => {
    for (const l of lines) {
      const m = re.exec(l);
      if (m) return m;
    }
    return null;
  };
  const url = find(/mfa-server demo on (http:\/\/127\.0\.0\.1:\d+)/);
  const user = find(/sign in as:\s+(\S+) \/ (\S+)/);
  const token = find(/admin token:\s+(\S+)/);
  return { base: url?.[1], user: user?.[1], password: user?.[2], adminToken: token?.[1] };
}

test("the README's first command serves the demo and stops cleanly on Ctrl-C", async (t) => {
  const command = readmeCommand(0);
  assert.equal(command, 'cargo xtask demo', `the README's first command is ${JSON.stringify(command)}`);
  const dir = mkdtempSync(join(tmpdir(), 'mfa-readme-demo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = copyWorkingTree(dir);
  t.diagnostic(`copied ${files} files to ${dir}`);

  const env = demoEnv();
  if (!(await portIsFree(8080))) {
    // Another program holds the README's port: the demo honours MFA_LISTEN.
    env.MFA_LISTEN = '127.0.0.1:0';
    t.diagnostic('port 8080 is taken here: the demo runs with MFA_LISTEN=127.0.0.1:0');
  }

  // ----- first run: build, banner, the whole flow over HTTP -----------------
  const first = startCommand(command, { cwd: dir, env });
  t.after(() => first.kill('SIGKILL'));
  const started = Date.now();
  await first.waitLine(/^  API description: /, FIRST_START_MS);
  t.diagnostic(`first run: banner after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const b = banner(first.lines);
  assert.ok(b.base && b.user && b.password && b.adminToken, `incomplete banner:\n${first.tail(20)}`);
  assert.ok(
    first.lines.some((l) => l.includes('mfa-demo/')),
    `the banner names the demo's state folder:\n${first.tail(20)}`,
  );

  const http = new Client(b.base);
  const health = await http.get('/healthz');
  assert.equal(health.status, 200, `/healthz answered ${health.status}`);
  const page = await http.get('/');
  assert.equal(page.status, 200, `/ answered ${page.status}`);
  assert.match(page.text, /<title>Sign in/, 'the demo page is the sign-in page');
  assert.match(page.text, /id="sign-in-form"/, 'the sign-in form is on the page');
  assert.match(page.text, /autocomplete="current-password"/, 'the password field is there');
  const bundle = await http.get('/demo.js');
  assert.equal(bundle.status, 200, 'the page script is served');
  // The admin the banner names, and the admin portal it points to.
  const adminLine = first.lines.find((l) => l.startsWith('  admin:       '));
  const am = /admin:\s+(\S+) \/ (\S+) .*admin portal (http\S+)/.exec(adminLine || '');
  assert.ok(am, `the banner names the demo admin and the admin portal:\n${first.tail(20)}`);
  const portal = await http.get(new URL(am[3]).pathname);
  assert.equal(portal.status, 200, `${am[3]} answered ${portal.status}`);
  assert.match(portal.text, /<title>Admin/, 'the admin page is served');
  assert.match(portal.text, /src="admin\.js"/, 'with its script');
  const adminIn = await new Client(b.base).post('/api/v1/sign-in', { user: am[1], password: am[2] });
  assert.equal(adminIn.status, 200, `the demo admin signs in: ${adminIn.status} ${adminIn.text}`);

  // Sign in: MFA is enabled for the demo user, so "Set it up now".
  const signIn = await http.post('/api/v1/sign-in', { user: b.user, password: b.password });
  assert.equal(signIn.status, 200, `sign-in: ${signIn.status} ${signIn.text}`);
  assert.equal(signIn.json.next.next, 'register', `next step after the password: ${signIn.text}`);
  const wrong = await new Client(b.base).post('/api/v1/sign-in', { user: b.user, password: 'not-the-password' });
  assert.equal(wrong.status, 401, 'a wrong password is refused');

  const reg = await http.post('/api/v1/methods/authenticator', {});
  assert.equal(reg.status, 200, `authenticator: ${reg.status} ${reg.text}`);
  assert.match(reg.json.otpauth_uri, /^otpauth:\/\/totp\//);
  const code = totpFromUri(reg.json.otpauth_uri);
  const otherCode = String((Number(code) + 500000) % 1000000).padStart(code.length, '0');
  const badCode = await http.post('/api/v1/methods/confirm', { code: otherCode });
  assert.ok(badCode.status >= 400, `a wrong code does not finish the set-up (${badCode.status})`);
  const confirmed = await http.post('/api/v1/methods/confirm', { code: totpFromUri(reg.json.otpauth_uri) });
  assert.equal(confirmed.status, 200, `confirm: ${confirmed.status} ${confirmed.text}`);
  assert.ok(confirmed.json.recovery_codes?.length > 0, 'recovery codes are handed out at the end of the set-up');
  assert.ok(http.cookies.has('mfa_session'), 'the set-up ends signed in (session cookie)');

  const session = await http.get('/api/v1/session');
  assert.equal(session.status, 200, `session: ${session.status} ${session.text}`);
  assert.equal(session.json.mfa, true, 'the session is a multi-factor one');

  const created = await http.post('/api/v1/app-passwords', { name: 'Outlook' });
  assert.equal(created.status, 201, `app password: ${created.status} ${created.text}`);
  const appPassword = created.json.password;
  assert.match(appPassword, /^([a-z2-9]{4}-){7}[a-z2-9]{4}$/, 'the app password has the documented shape');

  const gateway = new Client(b.base);
  const ok = await gateway.post('/api/v1/app-passwords/verify', { user: b.user, password: appPassword });
  assert.equal(ok.status, 200, `gateway verify: ${ok.status} ${ok.text}`);
  assert.equal(ok.json.user, b.user, 'the gateway learns who it is');
  const tampered = appPassword.slice(0, -1) + (appPassword.endsWith('a') ? 'b' : 'a');
  const refused = await gateway.post('/api/v1/app-passwords/verify', { user: b.user, password: tampered });
  assert.equal(refused.status, 401, `a mistyped app password is refused (${refused.status})`);

  const stop1 = await first.interrupt();
  assert.deepEqual(stop1, { code: 0, signal: null }, `Ctrl-C ends the demo with exit 0:\n${first.tail(15)}`);
  const db = join(dir, 'mfa-demo', 'mfa.db');
  assert.ok(existsSync(db) && statSync(db).size > 0, `the SQLite file ${db} is kept`);

  // ----- second run: nothing to build, the state is still there --------------
  const second = startCommand(command, { cwd: dir, env });
  t.after(() => second.kill('SIGKILL'));
  const again = Date.now();
  await second.waitLine(/^  API description: /, SECOND_START_MS);
  t.diagnostic(`second run: banner after ${((Date.now() - again) / 1000).toFixed(1)} s`);
  const b2 = banner(second.lines);
  assert.ok(
    !second.lines.some((l) => /^\s+Compiling /.test(l)),
    `the second run compiles nothing:\n${second.lines.filter((l) => /Compiling/.test(l)).join('\n')}`,
  );
  const still = await new Client(b2.base).post('/api/v1/app-passwords/verify', { user: b.user, password: appPassword });
  assert.equal(still.status, 200, `the app password from the first run still works: ${still.status} ${still.text}`);
  const back = await new Client(b2.base).post('/api/v1/sign-in', { user: b.user, password: b.password });
  assert.equal(back.json?.next?.next, 'verify', `the registered authenticator is remembered: ${back.text}`);
  const stop2 = await second.interrupt();
  assert.deepEqual(stop2, { code: 0, signal: null }, `Ctrl-C ends the second run with exit 0:\n${second.tail(15)}`);
});
