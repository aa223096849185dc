// The metric chart's numbers as a newcomer reads them, at 1280 px and on a
// 375 px phone: counts never banded below zero and written whole, axis ticks
// on round times and numbers that neither overlap nor get cut, a tooltip on
// hover, tap and keys, one range preset pressed, and legend keys for the band
// and false alarms that differ in hue and pattern with enough contrast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVigil } from './support/server.mjs';
import { openPage } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

let vigil;
let browser;
withVigilAndBrowser(() => startVigil(), (started) => ({ vigil, browser } = started));

const CHART = 'canvas[data-testid="metric-chart"]';
const X_TICKS = '[data-testid="chart-x-axis"] .tick';
const Y_TICKS = '[data-testid="chart-y-axis"] .tick';
const TIP = '[data-testid="chart-tip"]';
const WIDTHS = [1280, 375];

/// The lab for `metric` at `width` px, its axes drawn for that width.
async function openLab(metric, width) {
  const opened = await openPage(browser, `${vigil.url}/metric/${metric}?detector=iqr`);
  await opened.page.setViewportSize({ width, height: 900 });
  await waitForAxes(opened.page);
  return opened;
}

/// Waits until the axis labels fit the canvas as it is now sized.
async function waitForAxes(page) {
  await page.waitForFunction(
    ([canvas, ticks]) => {
      const box = document.querySelector(canvas)?.getBoundingClientRect();
      const labels = [...document.querySelectorAll(ticks)].map((t) => t.getBoundingClientRect());
      return box && labels.length > 0 && labels.every((l) => l.left >= box.left - 1 && l.right <= box.right + 1);
    },
    [CHART, X_TICKS],
    { timeout: 20_000 },
  );
}

const boxes = (page, selector) =>
  page.$$eval(selector, (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { text: e.textContent.trim(), left: r.left, right: r.right, top: r.top, bottom: r.bottom };
    }),
  );

/// Hovers (or taps) the chart at `share` of its width; the tooltip's texts.
async function pointAt(page, share, tap = false) {
  const box = await page.locator(CHART).boundingBox();
  const x = box.x + 62 + (box.width - 76) * share;
  const y = box.y + box.height / 2;
  if (tap) await page.mouse.click(x, y);
  else await page.mouse.move(x, y);
  await page.waitForSelector(TIP, { timeout: 5_000 });
  const read = (id) => page.textContent(`[data-testid="${id}"]`);
  return { value: await read('tip-value'), band: await read('tip-band'), score: await read('tip-score') };
}

for (const width of WIDTHS) {
  test(`${width} px: a count is never banded below zero and is written whole`, async () => {
    const { page, problems } = await openLab('feed_likes', width);
    for (const tick of await boxes(page, Y_TICKS)) {
      assert.match(tick.text, /^\d+k?$/, `y tick ${tick.text} is a whole, non-negative count`);
    }
    for (const share of [0.05, 0.3, 0.55, 0.8, 0.97]) {
      const tip = await pointAt(page, share);
      assert.match(tip.value, /^(\d+|missing)$/, `value ${tip.value} is whole`);
      assert.match(tip.band, /^(\d+ – \d+|no band yet)$/, `band ${tip.band} is whole and not below zero`);
    }
    // The replay's line for the bucket under its cursor says the same.
    for (const at of [200, 900, 1700, 2500]) {
      await page.$eval('#replay-position', (input, value) => {
        input.value = value;
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }, String(at));
      const now = await page.textContent('[data-testid="replay-now"]');
      assert.match(now, /value (\d+|missing), (band \d+k? to \d+k?|no band yet)/, now);
    }
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`${width} px: a ratio keeps its decimals and its band stays within 0 and 1`, async () => {
    const { page, problems } = await openLab('feed_ctr', width);
    const tip = await pointAt(page, 0.5);
    // A share, written as the overview and /alerts write it: a percentage.
    assert.match(tip.value, /^\d{1,3}\.\d\d%$/, `CTR ${tip.value} keeps its decimals`);
    const [low, high] = tip.band.split(' – ').map((edge) => Number(edge.replace('%', '')));
    assert.ok(low >= 0 && high <= 100 && low <= high, `band ${tip.band} within 0 and 100%`);
    // Its axis speaks percent too, within 0 and 100.
    for (const tick of await boxes(page, Y_TICKS)) {
      assert.match(tick.text, /^\d+(\.\d+)?%$/, `y tick ${tick.text} is a percentage`);
      const v = Number(tick.text.slice(0, -1));
      assert.ok(v >= 0 && v <= 100, `y tick ${tick.text} within 0 and 100%`);
    }
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`${width} px: axis ticks on round times and numbers, none overlapping or cut`, async () => {
    const { page, problems } = await openLab('feed_views', width);
    const canvas = await page.locator(CHART).boundingBox();
    const check = async (what) => {
      const ticks = await boxes(page, X_TICKS);
      assert.ok(ticks.length >= 3, `${what}: at least 3 time labels, got ${ticks.map((t) => t.text)}`);
      for (const t of ticks) {
        assert.match(t.text, /^(\d\d [A-Z][a-z]{2}|\d\d:00)$/, `${what}: ${t.text} is a round time`);
        assert.ok(t.left >= canvas.x - 1 && t.right <= canvas.x + canvas.width + 1, `${what}: ${t.text} is not cut`);
      }
      for (let i = 1; i < ticks.length; i += 1) {
        assert.ok(ticks[i].left >= ticks[i - 1].right, `${what}: ${ticks[i - 1].text} and ${ticks[i].text} overlap`);
      }
      const ys = (await boxes(page, Y_TICKS)).map((t) => t.text);
      assert.ok(ys.length >= 3, `${what}: y ticks ${ys}`);
      const values = ys.map((t) =>
        t.endsWith('k') ? Number(t.slice(0, -1)) * 1000 : t.endsWith('%') ? Number(t.slice(0, -1)) : Number(t),
      );
      const step = values[0] - values[1];
      const magnitude = 10 ** Math.floor(Math.log10(Math.abs(step)));
      assert.ok([1, 2, 5].includes(Math.round(Math.abs(step) / magnitude)), `${what}: y step ${step} is round`);
    };
    await check('all');
    for (const preset of ['1d', '7d']) {
      await page.getByRole('button', { name: preset, exact: true }).click();
      await waitForAxes(page);
      await check(preset);
    }
    // Zoomed in and panned to odd times, the labels still fall on the hour.
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.getByRole('button', { name: 'Earlier' }).click();
    await waitForAxes(page);
    await check('zoomed');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`${width} px: hover, tap and Shift+arrows show the bucket in a tooltip inside the chart`, async () => {
    const { page, problems } = await openLab('feed_views', width);
    const chart = await page.locator('figure.chart').boundingBox();
    for (const [share, tap] of [[0.0, false], [0.5, true], [1.0, true]]) {
      const tip = await pointAt(page, share, tap);
      assert.match(tip.value, /^\d+$/);
      assert.match(tip.score, /^\d/);
      const text = await page.textContent(TIP);
      assert.match(text, /\d{4}-\d\d-\d\d \d\d:\d\d UTC/, 'the bucket\'s time');
      const box = await page.locator(TIP).boundingBox();
      assert.ok(box.x >= chart.x - 1 && box.x + box.width <= chart.x + chart.width + 1, `tooltip at ${share} stays inside`);
    }
    // A mouse leaving takes the tooltip along; keys bring it back.
    await page.mouse.move(1, 1);
    await page.waitForSelector(TIP, { state: 'detached', timeout: 5_000 });
    await page.focus(CHART);
    await page.keyboard.press('Shift+ArrowLeft');
    await page.waitForSelector(TIP, { timeout: 5_000 });
    const first = await page.textContent(TIP);
    await page.keyboard.press('Shift+ArrowLeft');
    await page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent !== t, [TIP, first]);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`${width} px: exactly one range preset is pressed`, async () => {
    const { page, problems } = await openLab('feed_views', width);
    const pressed = () => page.$$eval('.chart-tools button[aria-pressed="true"]', (b) => b.map((e) => e.textContent));
    assert.deepEqual(await pressed(), ['all']);
    for (const preset of ['1d', '7d', '30d', 'all']) {
      await page.getByRole('button', { name: preset, exact: true }).click();
      const now = await pressed();
      assert.equal(now.length, 1, `after ${preset}: ${now}`);
    }
    await page.getByRole('button', { name: '1d', exact: true }).click();
    assert.deepEqual(await pressed(), ['1d']);
    assert.deepEqual(problems, []);
    await page.close();
  });
}

for (const width of [1280, 375]) {
  test(`at ${width} px the legend tells the band from false alarms by hue and by pattern, with 3:1 contrast`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views`, { width, height: 900 });
    const key = (cls) =>
      page.$eval(`.legend .${cls}`, (el) => {
        const style = getComputedStyle(el, '::before');
        const chart = getComputedStyle(el.closest('figure')).backgroundColor;
        return {
          image: style.backgroundImage,
          edge: style.borderTopColor,
          edgeWidth: parseFloat(style.borderTopWidth),
          chart,
        };
      });
    const band = await key('key-band');
    const falseAlarm = await key('key-false-alarm');
    assert.match(falseAlarm.image, /repeating-linear-gradient/, 'false alarms are hatched');
    assert.doesNotMatch(band.image, /gradient/, 'the band is not');
    const rgb = (text) => text.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
    const luminance = ([r, g, b]) =>
      [r, g, b]
        .map((c) => c / 255)
        .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
        .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
    const contrast = (a, b) => {
      const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
      return (hi + 0.05) / (lo + 0.05);
    };
    const hue = ([r, g, b]) => {
      const [max, min] = [Math.max(r, g, b), Math.min(r, g, b)];
      const d = max - min || 1;
      const h = max === r ? (g - b) / d : max === g ? 2 + (b - r) / d : 4 + (r - g) / d;
      return (h * 60 + 360) % 360;
    };
    for (const k of [band, falseAlarm]) {
      assert.ok(k.edgeWidth >= 1, 'each key has a visible edge');
      assert.ok(contrast(rgb(k.edge), rgb(k.chart)) >= 3, `edge ${k.edge} has 3:1 contrast on ${k.chart}`);
    }
    const apart = Math.abs(hue(rgb(band.edge)) - hue(rgb(falseAlarm.edge)));
    assert.ok(Math.min(apart, 360 - apart) >= 60, `hues ${band.edge} and ${falseAlarm.edge} differ`);
    assert.deepEqual(problems, []);
    await page.close();
  });
}
