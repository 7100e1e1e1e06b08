#!/usr/bin/env node
// Widget budget figures for docs/BENCHMARKS.md: bytes a browser downloads
// (raw and gzip) and the time from navigation start to the first interactive
// element of <mfa-enroll> (the first radio button, enabled and focusable) in
// headless Chromium against the real server, cold (fresh profile) and warm
// (cached). Usage: node tests/browser/bench.mjs [runs]   (default 10, at most 50)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, jsDir, startBrowser, startServer } from './harness.mjs';

const runs = Math.min(50, Math.max(1, Number(process.argv[2]) || 10));
const server = await startServer();
const account = await server.createUser('bench@example.com');

async function measure(browser) {
  const page = await browser.context.newPage();
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
  await page.goto(`${server.base}/`);
  await page.waitForFunction(() => window.__firstInteractive !== undefined, null, { timeout: 10000 });
  const t = await page.evaluate(() => ({
    firstInteractive: window.__firstInteractive,
    domContentLoaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    engineLoaded: (performance.getEntriesByType('resource').find((r) => r.name.endsWith('.wasm')) || {}).responseEnd ?? null,
  }));
  await page.close();
  return t;
}

const cold = [];
const warm = [];
for (let i = 0; i < runs; i++) {
  const browser = await startBrowser();
  cold.push(await measure(browser));
  warm.push(await measure(browser));
  await browser.close();
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
const result = { runs, cold: summary(cold), warm: summary(warm), sizes: sizes.total };
mkdirSync(artifacts, { recursive: true });
writeFileSync(join(artifacts, 'bench.json'), `${JSON.stringify({ ...result, samples: { cold, warm } }, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
