// The metric page's performance budget, measured in Chromium (playwright-core
// with Debian's chromium, like the tests) against a real `vigil serve` whose
// simulator wrote 30 days of history:
//   - recompute + redraw per slider move (the page's `lab-update` measure), 50 moves,
//     for iqr's a and for the learned detector's threshold;
//   - a 10 x 10 parameter heatmap (the page's `heatmap` measure);
//   - the gzipped wasm bundle;
//   - the server time of GET / (median of 50 requests, loopback).
// Prints the figures with the budget next to each; exits 1 when one is over.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startVigil } from '../tests/support/server.mjs';
import { launchBrowser } from '../tests/support/browser.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..');
const siteRoot = path.resolve(root, process.env.VIGIL_SITE_ROOT ?? '../target/site');

const BUDGET = { updateMs: 16, heatmapMs: 500, wasmGzipBytes: 1.5 * 1024 * 1024 };

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const configDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-'));
const config = path.join(configDir, 'vigil.toml');
writeFileSync(config, '[simulator]\ndays = 30\n');
const vigil = await startVigil({ extraArgs: ['--config', config] });
const browser = await launchBrowser();
const over = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${vigil.url}/metric/feed_views?detector=iqr`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
  const subtitle = (await page.textContent('.metric-page .subtitle')).trim();
  console.log(`page: /metric/feed_views (${subtitle})`);

  // 50 slider moves by keyboard, alternating so every move changes the knob.
  async function sliderMoves(label, knob) {
    await page.focus(knob);
    const updates = [];
    for (let i = 0; i < 50; i += 1) {
      const before = await page.evaluate(() => performance.getEntriesByName('lab-update').length);
      await page.keyboard.press(i % 2 === 0 ? 'ArrowLeft' : 'ArrowRight');
      await page.waitForFunction(
        (n) => performance.getEntriesByName('lab-update').length > n,
        before,
        { timeout: 10_000 },
      );
      updates.push(
        await page.evaluate(() => performance.getEntriesByName('lab-update').at(-1).duration),
      );
    }
    const median = quantile(updates, 0.5);
    const p95 = quantile(updates, 0.95);
    console.log(
      `${label}: recompute + redraw per slider move: median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (${updates.length} moves; budget ${BUDGET.updateMs} ms)`,
    );
    if (p95 > BUDGET.updateMs) over.push(`${label} slider update`);
  }
  await sliderMoves('iqr a', '#param-a');

  await page.click('[data-testid="heatmap-run"]');
  await page.waitForFunction(() => performance.getEntriesByName('heatmap').length > 0, null, {
    timeout: 120_000,
  });
  const heatmap = await page.evaluate(() => performance.getEntriesByName('heatmap')[0].duration);
  console.log(`10 x 10 heatmap (iqr a x n): ${heatmap.toFixed(0)} ms (budget ${BUDGET.heatmapMs} ms)`);
  if (heatmap > BUDGET.heatmapMs) over.push('heatmap');

  // The learned detector (the default judgment): its threshold knob re-reads
  // the probabilities it keeps for the series, so a move costs no trees.
  await page.selectOption('#detector', 'learned');
  await page.waitForSelector('#param-threshold');
  await sliderMoves('learned threshold', '#param-threshold');
  await page.close();

  // vigil.<content hash>.wasm (cargo-leptos hash-files), or vigil.wasm from an unhashed build.
  const pkg = path.join(siteRoot, 'pkg');
  const wasmName = readdirSync(pkg).find((name) => /^vigil(\.[\w-]+)?\.wasm$/.test(name));
  const wasm = gzipSync(readFileSync(path.join(pkg, wasmName)), { level: 9 }).length;
  console.log(
    `wasm bundle: ${(wasm / 1024).toFixed(0)} KiB gzipped (budget ${(BUDGET.wasmGzipBytes / 1024).toFixed(0)} KiB)`,
  );
  if (wasm > BUDGET.wasmGzipBytes) over.push('wasm size');

  const times = [];
  for (let i = 0; i < 50; i += 1) {
    const start = performance.now();
    const response = await fetch(`${vigil.url}/`);
    await response.text();
    times.push(performance.now() - start);
  }
  console.log(
    `GET /: median ${quantile(times, 0.5).toFixed(2)} ms, p95 ${quantile(times, 0.95).toFixed(2)} ms (50 requests)`,
  );
} finally {
  await browser.close();
  await vigil.stop();
  rmSync(configDir, { recursive: true, force: true });
}
if (over.length) {
  console.error(`over budget: ${over.join(', ')}`);
  process.exit(1);
}
