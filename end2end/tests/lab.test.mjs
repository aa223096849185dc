// The backtest lab on /metric/:name: detector picker, sliders, figures against
// the simulator's labelled incidents, heatmap, alert budget and replay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVigil } from './support/server.mjs';
import { openPage, canvasStats } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

let vigil;
let browser;

withVigilAndBrowser(() => startVigil(), (started) => ({ vigil, browser } = started));

const CHART = 'canvas[data-testid="metric-chart"]';
const FIGURES = 'section.figures dl';
const text = async (page, testid) => (await page.textContent(`[data-testid="${testid}"]`)).trim();

async function waitForChange(page, selector, previous) {
  await page.waitForFunction(
    ([s, p]) => document.querySelector(s)?.textContent !== p,
    [selector, previous],
    { timeout: 15_000 },
  );
}

test('picking another detector changes the count and the figures', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`);
  const before = await page.textContent(FIGURES);
  assert.match(await text(page, 'caught'), /of [1-9]/, 'the simulator labelled an incident of feed_views');
  await page.selectOption('#detector', 'drop');
  await waitForChange(page, FIGURES, before);
  // The drop detector's own parameters replace the IQR band's.
  await page.waitForSelector('#param-drop_fraction');
  assert.equal(await page.$('#param-n'), null);
  const afterDrop = await page.textContent(FIGURES);
  await page.selectOption('#detector', 'seasonal');
  await waitForChange(page, FIGURES, afterDrop);
  await page.waitForSelector('#param-z');
  assert.deepEqual(problems, []);
  await page.close();
});

test('moving a slider changes the chart and the figures, within a measured time', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`);
  const chart = await canvasStats(page, CHART);
  assert.ok(chart.inked > chart.total * 0.02, 'the chart is drawn');
  const count = await text(page, 'anomaly-count');
  const figures = await page.textContent(FIGURES);
  await page.focus('#param-a');
  await page.keyboard.press('Home');
  await waitForChange(page, '[data-testid="anomaly-count"]', count);
  assert.notEqual(await page.textContent(FIGURES), figures);
  assert.ok(Number(await text(page, 'anomaly-count')) > Number(count));
  const redrawn = await canvasStats(page, CHART);
  assert.notEqual(redrawn.hash, chart.hash, 'the canvas was redrawn');
  const measures = await page.evaluate(() =>
    performance.getEntriesByName('lab-update').map((e) => e.duration),
  );
  assert.ok(measures.length >= 1, 'recompute and redraw are measured');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the heatmap completes and a cell click applies its parameters', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`);
  await page.click('[data-testid="heatmap-run"]');
  await page.waitForFunction(
    () => /done in/.test(document.querySelector('[data-testid="heatmap-status"]')?.textContent ?? ''),
    null,
    { timeout: 60_000 },
  );
  assert.equal(await page.locator('.heatmap .cell').count(), 100);
  const measured = await page.evaluate(() => performance.getEntriesByName('heatmap').length);
  assert.equal(measured, 1);
  // The cell at row 3, column 7: its label says which parameters it stands for.
  const cell = page.locator('.heatmap tbody tr').nth(2).locator('.cell').nth(6);
  const label = await cell.getAttribute('aria-label');
  const [, a, n] = label.match(/^a=([\d.]+), n=([\d.]+):/);
  await cell.click();
  await page.waitForFunction(
    ([a, n]) =>
      document.querySelector('#param-a-number')?.value === a &&
      document.querySelector('#param-n-number')?.value === n,
    [a, n],
    { timeout: 10_000 },
  );
  assert.equal(await page.locator('.heatmap .cell.selected').count(), 1);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the alert budget finds a setting within the budget', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`);
  await page.fill('#budget-n', '2');
  await page.click('[data-testid="budget-solve"]');
  await page.waitForSelector('[data-testid="budget-value"]', { timeout: 30_000 });
  const perWeek = Number(await text(page, 'budget-per-week'));
  assert.ok(perWeek <= 2, `solved setting alerts ${perWeek} times a week`);
  // The setting is applied: the page's own figure agrees.
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="per-week"]')?.textContent) <= 2);
  const [, a] = (await text(page, 'budget-value')).match(/^a = ([\d.]+)$/);
  assert.equal(await page.inputValue('#param-a-number'), a);
  assert.match(await page.textContent('[data-testid="budget-result"]'), /caught|missed|No labelled/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('replay reaches the injected incident and shows its alert', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`);
  // The drop detector, not the default IQR band: the simulator places the outage
  // relative to the start time, so it can land in the night, where the IQR band
  // of the quiet, falling hours may already reach below 0 and the default
  // correctly misses the hour of zeros. Zero is always below half the median.
  const figures = await page.textContent(FIGURES);
  await page.selectOption('#detector', 'drop');
  await waitForChange(page, FIGURES, figures);
  await page.selectOption('#replay-speed', '672');
  await page.click('[data-testid="replay-play"]');
  // The simulator's whole-metric outage of feed_views (slice incidents may come first).
  const hit = page.locator('.replay-alerts li.hit', { hasText: 'labelled outage' });
  await hit.first().waitFor({ timeout: 60_000 });
  assert.match(await text(page, 'replay-now'), /value/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the learned detector runs in the browser, catches the outage and says why', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`);
  const figures = await page.textContent(FIGURES);
  await page.selectOption('#detector', 'learned');
  await waitForChange(page, FIGURES, figures);
  // Its threshold is the first knob, and it has no band parameters.
  await page.waitForSelector('#param-threshold');
  assert.equal(await page.$('#param-n'), null);
  await page.selectOption('#replay-speed', '672');
  await page.click('[data-testid="replay-play"]');
  const hit = page.locator('.replay-alerts li.hit', { hasText: 'labelled outage' });
  await hit.first().waitFor({ timeout: 60_000 });
  // Paused on an alert, the status says the probability and what drove it.
  await page.click('[data-testid="replay-play"]');
  await page.waitForFunction(
    () => /p = 0\.\d\d/.test(document.querySelector('[data-testid="replay-now"]')?.textContent ?? ''),
    null,
    { timeout: 15_000 },
  );
  assert.deepEqual(problems, []);
  await page.close();
});

test('the lab opens with the detector the live checks use and replays what they would send', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views`);
  assert.equal(await page.inputValue('#detector'), 'learned');
  await page.waitForSelector('#param-threshold');
  await page.selectOption('#replay-speed', '672');
  await page.click('[data-testid="replay-play"]');
  // The check's decision, not runs of flagged points: an alert at the
  // labelled outage, and its resolution once the metric is back.
  const opened = page.locator('.replay-alerts li.hit', { hasText: '· alert ·' });
  await opened.first().waitFor({ timeout: 60_000 });
  const resolved = page.locator('.replay-alerts li', { hasText: '· resolved ·' });
  await resolved.first().waitFor({ timeout: 60_000 });
  assert.deepEqual(problems, []);
  await page.close();
});

test('invalid input gets an inline message, never a broken page', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`);
  await page.fill('#param-a-number', '-5');
  await page.press('#param-a-number', 'Enter');
  await page.waitForSelector('[data-testid="lab-error"]');
  assert.match(await text(page, 'lab-error'), /a|multiplier/i);
  await page.fill('#param-n-number', '');
  await page.press('#param-n-number', 'Enter');
  await page.waitForFunction(() => /enter a number/.test(document.querySelector('#param-n-error')?.textContent));
  // A valid value clears the detector's message.
  await page.fill('#param-a-number', '3');
  await page.press('#param-a-number', 'Enter');
  await page.waitForSelector('[data-testid="lab-error"]', { state: 'detached' });
  await page.fill('#budget-n', '-1');
  await page.click('[data-testid="budget-solve"]');
  await page.waitForFunction(() =>
    /0 or more/.test(document.querySelector('[data-testid="budget-result"]')?.textContent),
  );
  assert.deepEqual(problems, []);
  await page.close();
});

test('range presets, zoom, pan and a clicked alert redraw the chart', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`);
  const redrawn = async (previous) => {
    await page.waitForFunction(
      async ([selector, hash]) => {
        const canvas = document.querySelector(selector);
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let h = 2166136261;
        for (let i = 0; i < data.length; i += 4) {
          h = Math.imul(h ^ (data[i] + 3 * data[i + 1] + 7 * data[i + 2]), 16777619) >>> 0;
        }
        return h !== hash;
      },
      [CHART, previous.hash],
      { timeout: 10_000 },
    );
    return canvasStats(page, CHART);
  };
  let stats = await canvasStats(page, CHART);
  await page.click('.chart-tools button:text-is("1d")');
  assert.equal(await page.getAttribute('.chart-tools button:text-is("1d")', 'aria-pressed'), 'true');
  stats = await redrawn(stats);
  // Keyboard: pan back a quarter, zoom out.
  await page.focus(CHART);
  await page.keyboard.press('ArrowLeft');
  stats = await redrawn(stats);
  await page.keyboard.press('-');
  stats = await redrawn(stats);
  await page.click('button[aria-label="Zoom in"]');
  stats = await redrawn(stats);
  // A would-be alert from the list: the chart zooms to a day around it.
  await page.click('.alert-list summary');
  await page.locator('[data-testid="alert-list"] button').last().click();
  stats = await redrawn(stats);
  assert.ok(stats.inked > stats.total * 0.02, 'the zoomed chart is drawn');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the lab fits a phone-width screen', async () => {
  const page = await browser.newPage({ viewport: { width: 375, height: 800 } });
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(`${vigil.url}/metric/feed_views?detector=iqr`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 375, `page is ${overflow}px wide`);
  const size = await page.$eval(CHART, (c) => ({ css: c.clientWidth, px: c.width }));
  assert.ok(size.css > 250 && size.css <= 375, `chart is ${size.css}px wide`);
  assert.equal(size.px, Math.round(size.css * (await page.evaluate(() => devicePixelRatio))));
  assert.deepEqual(problems, []);
  await page.close();
});
