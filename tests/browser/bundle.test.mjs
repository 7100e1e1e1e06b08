// The single-file build in js/dist (minified elements and glue, the wasm
// beside it) on a page of its own: a whole authenticator enrolment.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { axe, jsDir, shot, startBrowser, startServer, totp, typeCode } from './harness.mjs';

let server;
let browser;
before(async () => {
  assert.ok(existsSync(join(jsDir, 'dist', 'mfa-widget.min.js')), 'js/dist is built by `node js/build.mjs` after `npm ci` in js/');
  server = await startServer();
  browser = await startBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the bundled build enrols an authenticator app on a host page', async () => {
  const kim = await server.createUser('kim@example.com');
  const page = await browser.page(server);
  await page.request.post(`${server.base}/api/v1/sign-in`, { data: kim });
  // A host page of someone else's site, with its own look.
  await page.route(`${server.base}/host.html`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><html lang="en"><head><title>Host</title>
        <link rel="stylesheet" href="/dist/theme.min.css">
        <script type="module" src="/dist/mfa-widget.min.js"></script>
        <style>:root { --mfa-accent: #6b2fa3; --mfa-radius: 0; --mfa-font: Georgia, serif; }</style>
        </head><body><main><h1>Account security</h1><mfa-enroll api="/api/v1"></mfa-enroll></main></body></html>`,
    }),
  );
  const wasm = page.waitForResponse((r) => r.url().endsWith('/dist/mfa_web_bg.wasm'));
  await page.goto(`${server.base}/host.html`);
  const enroll = page.locator('mfa-enroll .mfa-body');
  await enroll.getByRole('button', { name: 'Set it up now' }).click();
  await enroll.getByRole('button', { name: 'Next' }).click();
  await enroll.getByText('Can’t scan the code?').click();
  assert.equal((await wasm).status(), 200, 'the engine loads from beside the bundle');
  const key = (await enroll.locator('.mfa-key').innerText()).replace(/ /g, '');
  await typeCode(enroll, totp(key));
  assert.deepEqual(await axe(page, 'mfa-enroll'), []);
  await enroll.getByRole('button', { name: 'Verify' }).click();
  await enroll.getByRole('heading', { name: 'You’re all set' }).waitFor();
  const accent = await enroll.getByRole('button', { name: 'Next' }).evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(accent, 'rgb(107, 47, 163)', 'the host page themes the element with custom properties');
  await shot(page, 'bundle-host-page-themed');
  await page.close();
});

test('the single-file build stays within its 60 KiB gzipped budget', () => {
  // Written by js/build.mjs from the files a browser downloads (gzip -9).
  const sizes = JSON.parse(readFileSync(join(jsDir, 'pkg', 'sizes.json'), 'utf8'));
  assert.ok(sizes.bundle, 'js/build.mjs measured the bundle in js/dist');
  const names = sizes.bundle.files.map((f) => f.file).sort();
  assert.deepEqual(names, ['dist/mfa-widget.min.js', 'dist/mfa_web_bg.wasm', 'dist/theme.min.css']);
  const total = sizes.bundle.files.reduce((a, f) => a + f.gzip, 0);
  assert.equal(total, sizes.bundle.total.gzip);
  assert.ok(total <= 61440, `the bundle is ${total} B gzipped, over the 61 440 B budget`);
});
