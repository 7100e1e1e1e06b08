// Shared by the browser tests: the real mfa-server (demo mode, a fresh SQLite
// file, an ephemeral loopback port), headless Chromium through playwright-core,
// TOTP codes computed here from the key shown on screen (node:crypto, not the
// engine, tests/support/totp.mjs), delivered codes read from the server's [DEMO DELIVERY] lines,
// screenshots in target/browser-artifacts/ and axe-core checks.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { totp } from '../support/totp.mjs';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const jsDir = join(root, 'js');
export const artifacts = join(root, 'target', 'browser-artifacts');
const require = createRequire(join(jsDir, 'package.json'));

function need(path, how) {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${how}`);
}

// ----- the server ------------------------------------------------------------

/** Start mfa-server in demo mode on 127.0.0.1 with its own database and keys. */
export async function startServer() {
  const bin = process.env.MFA_SERVER_BIN || join(root, 'target', 'debug', 'mfa-server');
  need(bin, 'build it with `cargo build -p mfa-server` (or set MFA_SERVER_BIN)');
  need(join(jsDir, 'pkg', 'mfa_web_bg.wasm'), 'build the widget with `node js/build.mjs`');
  const dir = mkdtempSync(join(tmpdir(), 'mfa-browser-'));
  const adminToken = randomBytes(24).toString('hex');
  const child = spawn(bin, ['--demo', '--listen', '127.0.0.1:0'], {
    cwd: dir,
    env: {
      ...process.env,
      MFA_DATABASE_URL: `sqlite://${dir}/mfa.db`,
      MFA_KEY_FILE: join(dir, 'keys.json'),
      MFA_WIDGET_DIR: jsDir,
      MFA_ADMIN_TOKEN: adminToken,
      MFA_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const waiters = new Set();
  let stderr = '';
  let buffered = '';
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      lines.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
    for (const w of waiters) w();
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('exit', resolve));

  /** Wait (up to `ms`) for a stdout line matching `re` at index >= `from`. */
  function waitLine(re, from = 0, ms = 15000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = from; i < lines.length; i++) {
          const m = re.exec(lines[i]);
          if (m) {
            done();
            resolve({ match: m, index: i });
            return true;
          }
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no server output matching ${re} within ${ms} ms; stderr:\n${stderr}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      if (!check()) waiters.add(check);
    });
  }

  const started = await Promise.race([
    waitLine(/mfa-server demo on (http:\/\/127\.0\.0\.1:\d+)/),
    exited.then((code) => {
      throw new Error(`mfa-server exited with ${code}:\n${stderr}`);
    }),
  ]);
  const base = started.match[1];

  const server = {
    base,
    adminToken,
    /** How many stdout lines so far (pass to `code()` to wait for a newer delivery). */
    mark: () => lines.length,
    /** How many codes were delivered since line `from`. */
    deliveries: (from) => lines.slice(from).filter((l) => l.includes('[DEMO DELIVERY]')).length,
    /** The code of the next [DEMO DELIVERY] to `destination` (masked) after line `from`. */
    async code(from, destination) {
      const esc = destination ? destination.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : '.+';
      const { match } = await waitLine(new RegExp(`\\[DEMO DELIVERY\\] (\\w+) to ${esc}: code (\\d+) `), from);
      return match[2];
    },
    /** A request to the admin API. */
    async admin(method, path, body) {
      const res = await fetch(`${base}/api/v1/admin${path}`, {
        method,
        headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    /** A user with a password and MFA enabled ("Set it up now" at first sign-in). */
    async createUser(user, password = 'correct horse battery', state = 'enabled') {
      await server.admin('POST', '/users', { user, password, state });
      return { user, password };
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** A tiny API client with a cookie jar, for set-up done outside the browser. */
export function apiSession(base) {
  const jar = new Map();
  return async function call(method, path, body) {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        'Content-Type': 'application/json',
        Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw Object.assign(new Error(`${method} ${path}: ${res.status} ${text}`), { status: res.status, data });
    return data;
  };
}

/** Register an authenticator app for `user` through the API; returns its base32 secret. */
export async function enrolTotpByApi(server, { user, password }) {
  const call = apiSession(server.base);
  await call('POST', '/sign-in', { user, password });
  const reg = await call('POST', '/methods/authenticator', {});
  const secret = reg.manual_key.replace(/\s+/g, '');
  await call('POST', '/methods/confirm', { code: totp(secret) });
  return secret;
}

/** A user with an authenticator app (and optionally an email), set up through the API. */
export async function setUpUser(server, user, { email = null } = {}) {
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

// ----- TOTP (RFC 6238), independent of the engine ---------------------------

export { totp };

/** Wait until the current 30 s step is new, so a code computed now was never used. */
export async function nextStep(usedAt) {
  const used = Math.floor(usedAt / 30);
  while (Math.floor(Date.now() / 1000 / 30) <= used) await new Promise((r) => setTimeout(r, 250));
}

// ----- the browser -------------------------------------------------------------

/** Headless Chromium with a fresh profile; `close()` removes it. */
export async function startBrowser() {
  const { chromium } = require('playwright-core');
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  need(executablePath, 'install it with `apt-get install -y chromium chromium-driver` (or set CHROMIUM)');
  const profile = mkdtempSync(join(tmpdir(), 'mfa-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 900, height: 1000 },
    acceptDownloads: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    /** A new tab with no cookies left from an earlier test. */
    async page(server) {
      await context.clearCookies();
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Save full-page screenshots as target/browser-artifacts/<name>.png (desktop)
 * and <name>-phone.png (390 px wide); they are kept, not compared. Secrets
 * on screen (app passwords, recovery codes, the manual key and the QR code
 * that holds it) are covered, so no artifact carries one.
 */
export async function shot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const mask = ['.mfa-secret', '.mfa-codes', '.mfa-key', '.mfa-qr'].map((s) => page.locator(s));
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true, mask, maskColor: '#8a8d96' });
  // The same screen at a phone's width (390 CSS px), then back.
  const size = page.viewportSize();
  if (size && size.width > 390) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(artifacts, `${name}-phone.png`), fullPage: true, mask, maskColor: '#8a8d96' });
    await page.setViewportSize(size);
  }
}

/** Run axe-core on `selector`; returns the serious and critical violations. */
export async function axe(page, selector) {
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: source });
  const result = await page.evaluate(
    (sel) =>
      window.axe.run(sel, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      }),
    selector,
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Record the widget's events on `window.__mfaEvents` (set up before the page's scripts run). */
export async function recordEvents(page) {
  await page.addInitScript(() => {
    window.__mfaEvents = [];
    for (const name of ['mfa-enrolled', 'mfa-done', 'mfa-verified', 'mfa-next', 'mfa-error', 'mfa-app-password-created', 'mfa-app-password-deleted', 'mfa-method-added', 'mfa-method-removed', 'mfa-default-changed', 'mfa-recovery-codes-issued', 'mfa-signed-out']) {
      document.addEventListener(name, (e) => window.__mfaEvents.push({ name, detail: e.detail }));
    }
  });
}

/**
 * The end of "Set it up now" after the recovery codes: tick "saved", Next,
 * the first app password (returned as copied, without spaces), Done.
 */
export async function finishSetUp(page) {
  const enroll = page.locator('mfa-enroll .mfa-body');
  await enroll.getByLabel('I have saved my recovery codes').check();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByRole('heading', { name: 'Your app password' }).waitFor();
  await enroll.getByRole('button', { name: 'Copy' }).click();
  await enroll.getByText('✓ Copied').waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  await enroll.getByRole('button', { name: 'Done' }).click();
  return copied;
}

/**
 * "More information required" at a first sign-in: click "Set it up now" and
 * wait for the choice of method.
 */
export async function setItUpNow(page) {
  const enroll = page.locator('mfa-enroll .mfa-body');
  await enroll.getByRole('heading', { name: 'More information required' }).waitFor();
  await enroll.getByRole('button', { name: 'Set it up now' }).click();
  await enroll.getByRole('heading', { name: 'Keep your account secure' }).waitFor();
}

/** Sign in on the demo page. */
export async function signIn(page, server, { user, password }) {
  await page.goto(server.base + '/');
  await page.getByLabel('Email or user name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/**
 * Answer "Stay signed in?" after a second factor at sign-in (`Yes` or `No`),
 * ticking "Don't show this again" when asked to.
 */
export async function staySignedIn(page, answer = 'No', { dontShowAgain = false } = {}) {
  const verify = page.locator('mfa-verify .mfa-body');
  await verify.getByRole('heading', { name: 'Stay signed in?' }).waitFor();
  if (dontShowAgain) await verify.getByLabel('Don’t show this again').check();
  await verify.getByRole('button', { name: answer, exact: true }).click();
}

/**
 * Type a code key by key into the code input of `scope` (as a person does;
 * a whole code arriving in one input event, as with fill(), submits by itself).
 */
export async function typeCode(scope, code) {
  const input = scope.getByLabel('Code', { exact: true });
  await input.clear();
  await input.pressSequentially(code);
}
