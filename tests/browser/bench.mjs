#!/usr/bin/env node
// Widget budget figures for docs/BENCHMARKS.md: bytes a browser downloads
// (raw and gzip, from js/pkg/sizes.json) and the time from navigation start
// to the first interactive element of <mfa-enroll> (its first radio button)
// in headless Chromium against the real server, cold (fresh profile) and
// warm (cached), for the demo page (ES modules from js/src) and for a host
// page that loads the single-file build from js/dist.
// Usage: node tests/browser/bench.mjs [runs]   (default 10, at most 50)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, jsDir, startBrowser, startServer } from './harness.mjs';

const runs = Math.min(50, Math.max(1, Number(process.argv[2]) || 10));
const server = await startServer();
const account = await server.createUser('bench@example.com');

const HOST = `<!doctype html><html lang="en"><head><title>Host</title>
<link rel="stylesheet" href="/dist/theme.min.css"><script type="module" src="/dist/mfa-widget.min.js"></script>
</head><body><mfa-enroll api="/api/v1"></mfa-enroll></body></html>`;

async function measure(browser, variant) {
  const page = await browser.context.newPage();
  await page.route(`${server.base}/host.html`, (route) => route.fulfill({ contentType: 'text/html', body: HOST }));
  await page.request.post(`${server.base}/api/v1/sign-in`, { data: account });
  await page.addInitScript(() => {
    new MutationObserver((_, obs) => {
      const input = document.querySelector('mfa-enroll input[type=radio]');
      if (input && !input.disabled) {
        window.__firstInteractive = performance.now();
        obs.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(`${server.base}${variant === 'bundle' ? '/host.html' : '/'}`);
  await page.waitForFunction(() => window.__firstInteractive !== undefined, null, { timeout: 10000 });
  const t = await page.evaluate(() => ({
    firstInteractive: window.__firstInteractive,
    domContentLoaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    engineLoaded: (performance.getEntriesByType('resource').find((r) => r.name.endsWith('.wasm')) || {}).responseEnd ?? null,
  }));
  await page.close();
  return t;
}

const samples = { modules: { cold: [], warm: [] }, bundle: { cold: [], warm: [] } };
for (let i = 0; i < runs; i++) {
  for (const variant of ['modules', 'bundle']) {
    const browser = await startBrowser();
    samples[variant].cold.push(await measure(browser, variant));
    samples[variant].warm.push(await measure(browser, variant));
    await browser.close();
  }
}
await server.stop();

const median = (xs) => {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.floor(s.length / 2)] * 10) / 10 : null;
};
const summary = (xs) => ({
  firstInteractiveMs: median(xs.map((x) => x.firstInteractive)),
  domContentLoadedMs: median(xs.map((x) => x.domContentLoaded)),
  engineLoadedMs: median(xs.map((x) => x.engineLoaded)),
});
const sizes = JSON.parse(readFileSync(join(jsDir, 'pkg', 'sizes.json'), 'utf8'));
const result = {
  runs,
  modules: { cold: summary(samples.modules.cold), warm: summary(samples.modules.warm), size: sizes.modules.total },
  bundle: { cold: summary(samples.bundle.cold), warm: summary(samples.bundle.warm), size: sizes.bundle && sizes.bundle.total },
};
mkdirSync(artifacts, { recursive: true });
writeFileSync(join(artifacts, 'bench.json'), `${JSON.stringify({ ...result, samples }, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
