// Issue 20, findings 3, 6 and 7, at 1280 and 375 px: the parameter heatmap
// is one tab stop moved with the arrow keys (Enter applies a cell); the
// overview writes counts whole and a share as a percent; on a phone the
// alerts table is stacked rows, each value under its column's name, the
// chart's tools keep one row, and a would-be alert's click brings the chart
// it redraws into view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage } from './support/browser.mjs';
import { WIDTHS, computeHeatmap, startWithAlerts } from './support/pages.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

let vigil;
let browser;

withVigilAndBrowser(startWithAlerts, (started) => ({ vigil, browser } = started));

/// Which heatmap cell has the keyboard (its index in the grid), or null.
const focusedCell = (page) =>
  page.evaluate(() => {
    const cell = document.activeElement?.closest?.('.heatmap .cell');
    return cell ? Number(cell.id.replace('heatmap-cell-', '')) : null;
  });

for (const width of WIDTHS) {
  test(`at ${width} px the heatmap is one tab stop: arrows move between cells, Enter applies one`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`, { width, height: 900 });
    await computeHeatmap(page);
    assert.equal(await page.locator('[data-testid="heatmap"][role="grid"]').count(), 1);
    const stops = await page.$$eval('.heatmap .cell', (cells) => cells.filter((c) => c.tabIndex >= 0).length);
    assert.equal(stops, 1, 'one cell of the grid is in the tab order');

    // Tab from the run button enters the grid once; the next Tab leaves it.
    await page.focus('[data-testid="heatmap-run"]');
    await page.keyboard.press('Tab');
    const entered = await focusedCell(page);
    assert.notEqual(entered, null, 'Tab from "Compute heatmap" reaches the grid');
    await page.keyboard.press('Tab');
    assert.equal(await focusedCell(page), null, 'a second Tab leaves the grid');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focusedCell(page), entered);

    // Home goes to the row's first cell, up stops at the top row: the first
    // cell. Then right, down, down, right: row 3, column 3.
    await page.keyboard.press('Home');
    assert.equal((await focusedCell(page)) % 10, 0, "Home goes to the row's first cell");
    for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowUp');
    const start = await focusedCell(page);
    assert.equal(start, 0);
    for (const key of ['ArrowRight', 'ArrowDown', 'ArrowDown', 'ArrowRight']) await page.keyboard.press(key);
    const moved = await focusedCell(page);
    assert.equal(moved, start + 22, `the arrows moved from ${start} to ${moved}`);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await focusedCell(page), start + 21);

    // Enter applies the cell as a click does, and the keyboard stays on it.
    const label = await page.getAttribute(`#heatmap-cell-${start + 21}`, 'aria-label');
    const [, a, n] = label.match(/^a=([\d.]+), n=([\d.]+):/);
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      ([a, n]) =>
        document.querySelector('#param-a-number')?.value === a &&
        document.querySelector('#param-n-number')?.value === n,
      [a, n],
      { timeout: 10_000 },
    );
    await page.waitForFunction((id) => document.activeElement?.id === id, `heatmap-cell-${start + 21}`, { timeout: 5_000 });
    assert.equal(await page.locator(`#heatmap-cell-${start + 21}.selected`).count(), 1);
    const stopsAfter = await page.$$eval('.heatmap .cell', (cells) => cells.filter((c) => c.tabIndex >= 0).map((c) => c.id));
    assert.deepEqual(stopsAfter, [`heatmap-cell-${start + 21}`]);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`at ${width} px the overview writes counts whole and the CTR as a percent`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}/`, { width, height: 900 });
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid="metric-card"]')].every((c) => c.dataset.status !== 'no-data'),
      null,
      { timeout: 60_000 },
    );
    const cards = await page.$$eval('[data-testid="metric-card"]', (cards) =>
      cards.map((card) => ({
        metric: card.dataset.metric,
        value: card.querySelector('[data-testid="card-value"]').parentElement.textContent.trim(),
        expected: card.querySelector('[data-testid="card-expected"]').textContent.trim(),
        band: card.querySelector('[data-testid="card-band"]').textContent.trim(),
      })),
    );
    const ctr = cards.find((c) => c.metric === 'feed_ctr');
    assert.ok(ctr, JSON.stringify(cards));
    assert.match(ctr.value, /^\d{1,3}\.\d\d%$/, `feed_ctr value: ${ctr.value}`);
    assert.match(ctr.expected, /^(\d{1,3}\.\d\d%|–)$/, `feed_ctr expected: ${ctr.expected}`);
    assert.match(ctr.band, /^(\d{1,3}\.\d\d% – \d{1,3}\.\d\d%|–)$/, `feed_ctr band: ${ctr.band}`);
    const counts = cards.filter((c) => c.metric !== 'feed_ctr');
    assert.ok(counts.length >= 5);
    for (const card of counts) {
      assert.match(card.value, /^\d+$/, `${card.metric} value: ${card.value}`);
      assert.match(card.expected, /^(\d+|–)$/, `${card.metric} expected: ${card.expected}`);
      assert.match(card.band, /^(\d+ – \d+|–)$/, `${card.metric} band: ${card.band}`);
    }
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`at ${width} px the chart's tools keep one row`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`, { width, height: 900 });
    const tops = await page.$$eval('.chart-tools button', (buttons) =>
      buttons.map((b) => ({ text: b.textContent, top: Math.round(b.getBoundingClientRect().top), width: b.getBoundingClientRect().width })),
    );
    assert.equal(tops.length, 8);
    assert.ok(tops.every((b) => b.top === tops[0].top), `buttons on more than one row: ${JSON.stringify(tops)}`);
    // Still a comfortable tap target (WCAG 2.5.8: 24 px).
    assert.ok(tops.every((b) => b.width >= 24), JSON.stringify(tops));
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`at ${width} px a would-be alert's click brings the chart it redraws into view`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr`, { width, height: 800 });
    await page.click('.alert-list summary');
    const item = page.locator('[data-testid="alert-list"] button').first();
    await item.waitFor();
    // The list's first item at the top of the window: the chart is above it, out of view.
    await item.evaluate((b) => b.scrollIntoView({ block: 'start' }));
    const chartTop = () => page.$eval('canvas[data-testid="metric-chart"]', (c) => c.getBoundingClientRect().top);
    assert.ok((await chartTop()) < 0, 'the chart starts out of view');
    await item.click();
    await page.waitForFunction(
      () => {
        const r = document.querySelector('canvas[data-testid="metric-chart"]').getBoundingClientRect();
        return r.top > -1 && r.top < innerHeight;
      },
      null,
      { timeout: 5_000 },
    );
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`at ${width} px the alerts table ${width < 600 ? 'is stacked rows, each value named' : 'is a table with its header row'}`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}/alerts`, { width, height: 800 });
    const rows = page.locator('[data-testid="alerts-table"] tbody tr[data-alert-id]');
    await rows.first().waitFor({ timeout: 30_000 });
    const layout = await page.evaluate(() => {
      const table = document.querySelector('[data-testid="alerts-table"]');
      const row = table.querySelector('tbody tr[data-alert-id]');
      const header = table.querySelector('thead');
      return {
        pageWidth: document.documentElement.scrollWidth,
        rowWidth: row.getBoundingClientRect().width,
        headerHeight: header.getBoundingClientRect().height,
        names: [...row.querySelectorAll('td')].map((td) => getComputedStyle(td, '::before').content),
        headers: [...header.querySelectorAll('th')].map((th) => th.textContent.trim()),
        cellsSideBySide: (() => {
          const [a, b] = row.querySelectorAll('td');
          return Math.abs(a.getBoundingClientRect().top - b.getBoundingClientRect().top) < 2;
        })(),
      };
    });
    if (width < 600) {
      assert.ok(layout.pageWidth <= width, `the page is ${layout.pageWidth} px wide at ${width} px`);
      assert.ok(layout.rowWidth <= width, `a row is ${layout.rowWidth} px wide`);
      assert.equal(layout.cellsSideBySide, false, 'the cells of a row are stacked');
      assert.ok(layout.headerHeight <= 1, 'the header row is only for screen readers');
      assert.deepEqual(
        layout.names,
        layout.headers.map((h) => JSON.stringify(h)),
        'each value shows its column name',
      );
    } else {
      assert.equal(layout.cellsSideBySide, true);
      assert.ok(layout.headerHeight > 10);
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
}
