// The first page: a metric drawn on canvas with its IQR band; moving a slider
// reruns detection in WebAssembly and redraws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVigil } from './support/server.mjs';
import { openPage, canvasStats, unexpectedProblems } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

let vigil;
let browser;

withVigilAndBrowser(() => startVigil(), (started) => ({ vigil, browser } = started));

const COUNT = '[data-testid="anomaly-count"]';
const CHART = 'canvas[data-testid="metric-chart"]';

async function waitForRedraw(page, before) {
  await page.waitForFunction(
    ([selector, previous]) => document.querySelector(selector)?.textContent !== previous,
    [COUNT, before],
    { timeout: 10_000 },
  );
}

test('overview lists the built-in metrics and links to their pages', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/`);
  const links = await page.locator('.metric-list a').allTextContents();
  assert.ok(links.length >= 6, `expected the six built-in metrics, got ${JSON.stringify(links)}`);
  await page.locator('.metric-list a', { hasText: 'Feed views' }).click();
  await page.waitForURL(/\/metric\/feed_views$/);
  await page.waitForSelector(COUNT);
  assert.deepEqual(problems, []);
  await page.close();
});

test('server renders the anomaly count before any script runs', async () => {
  const html = await (await fetch(`${vigil.url}/metric/feed_views?detector=iqr`)).text();
  const match = html.match(/data-testid="anomaly-count"[^>]*>(\d+)</);
  assert.ok(match, 'the server-rendered page carries the count');
});

test('moving a slider recomputes in the browser and redraws the chart', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`);
  const initialCount = (await page.textContent(COUNT)).trim();
  assert.match(initialCount, /^\d+$/);

  const initial = await canvasStats(page, CHART);
  assert.ok(initial.inked > initial.total * 0.02, `canvas looks blank: ${initial.inked} inked pixels`);

  // Keyboard-operable: Home sets a = 0, the narrowest band, which flags far more points.
  await page.focus('#param-a');
  await page.keyboard.press('Home');
  await waitForRedraw(page, initialCount);
  const narrowCount = Number((await page.textContent(COUNT)).trim());
  assert.ok(narrowCount > Number(initialCount), `a=0 should flag more than a=4 (${narrowCount} vs ${initialCount})`);
  assert.equal(await page.inputValue('#param-a-number'), '0');

  const narrow = await canvasStats(page, CHART);
  assert.notEqual(narrow.hash, initial.hash, 'the canvas was redrawn');
  assert.ok(narrow.inked > narrow.total * 0.02, 'the redrawn canvas is not blank');

  // Typing n changes the window as well.
  const beforeN = (await page.textContent(COUNT)).trim();
  await page.fill('#param-n-number', '48');
  await page.press('#param-n-number', 'Enter');
  await waitForRedraw(page, beforeN);

  assert.deepEqual(problems, []);
  await page.close();
});

test('an unknown metric shows an error, not a broken page', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/no_such_metric`);
  const alert = await page.textContent('[role="alert"]');
  assert.match(alert, /unknown metric/);
  // The failed server function is reported by the browser as a console error; nothing else may be.
  assert.deepEqual(unexpectedProblems(problems), []);
  await page.close();
});
