// The overview: a card per metric (sparkline, value, status), live refresh
// after a check without a reload, and a phone-width layout without sideways scrolling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startVigil } from './support/server.mjs';
import { openPage } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

const run = promisify(execFile);

let vigil;
let browser;

withVigilAndBrowser(() => startVigil(), (started) => ({ vigil, browser } = started));

const CARD = '[data-testid="metric-card"]';
const LAST_CHECK_TIME = '[data-testid="last-check"] time';
const BUILT_IN = ['feed_active_users', 'feed_views', 'feed_likes', 'feed_ctr', 'messenger_active_users', 'messages_sent'];

/// The `datetime` of "last check", once the served instance has finished one.
async function lastCheck(page) {
  await page.waitForSelector(LAST_CHECK_TIME, { timeout: 60_000 });
  return page.getAttribute(LAST_CHECK_TIME, 'datetime');
}

test('every built-in metric is a card with a sparkline, a value and a status', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/`);
  // The first check runs when vigil starts; the page picks it up on its own.
  await lastCheck(page);
  await page.waitForFunction(
    (selector) => [...document.querySelectorAll(selector)].every((c) => c.dataset.status !== 'no-data'),
    CARD,
    { timeout: 30_000 },
  );
  const cards = await page.$$eval(CARD, (cards) =>
    cards.map((card) => ({
      metric: card.dataset.metric,
      status: card.querySelector('[data-testid="card-status"]').textContent.trim(),
      value: card.querySelector('[data-testid="card-value"]').textContent.trim(),
      segments: card.querySelectorAll('svg[data-testid="sparkline"] polyline').length,
      points: [...card.querySelectorAll('svg[data-testid="sparkline"] polyline')]
        .map((line) => line.getAttribute('points').split(' ').length)
        .reduce((a, b) => a + b, 0),
      newest: card.querySelectorAll('svg[data-testid="sparkline"] .spark-newest').length,
      label: card.querySelector('svg[data-testid="sparkline"]').getAttribute('aria-label'),
      link: card.querySelector('h2 a').getAttribute('href'),
    })),
  );
  for (const name of BUILT_IN) {
    assert.ok(cards.some((c) => c.metric === name), `no card for ${name}: ${JSON.stringify(cards.map((c) => c.metric))}`);
  }
  for (const card of cards) {
    assert.ok(card.segments >= 1 && card.points > 48, `${card.metric}: sparkline looks blank: ${JSON.stringify(card)}`);
    assert.equal(card.newest, 1, `${card.metric}: the newest point is marked`);
    assert.match(card.value, /^-?\d+(\.\d+)?$/, `${card.metric}: value ${card.value}`);
    assert.match(card.status, /(ok|firing|muted)$/, `${card.metric}: status ${card.status}`);
    assert.match(card.label, /last 24 hours/);
    assert.equal(card.link, `/metric/${card.metric}`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('the server renders the sparklines before any script runs', async () => {
  const html = await (await fetch(`${vigil.url}/`)).text();
  const sparklines = html.match(/<svg[^>]*data-testid="sparkline"/g) ?? [];
  assert.ok(sparklines.length >= BUILT_IN.length, `server-rendered sparklines: ${sparklines.length}`);
  assert.match(html, /<polyline[^>]*points="[\d.]+,[\d.]+ [\d.]+,[\d.]+/);
});

test('a new check shows up without a page reload', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/`);
  const before = await lastCheck(page);
  await page.evaluate(() => {
    window.__vigilNoReload = true;
  });
  // The check records a whole second later than the one on screen.
  await new Promise((r) => setTimeout(r, 1_100));
  // The same state directory as the served instance: exactly what cron would run.
  const { stderr } = await run(vigil.bin, ['check', '--data-dir', vigil.dataDir, '--at', 'now'], {
    env: { ...process.env, RUST_LOG: 'warn' },
    maxBuffer: 64 * 1024 * 1024,
  }).catch((error) => {
    throw new Error(`vigil check failed: ${error.message}\n${error.stderr}`);
  });
  void stderr;
  await page.waitForFunction(
    ([selector, previous]) => document.querySelector(selector)?.getAttribute('datetime') !== previous,
    [LAST_CHECK_TIME, before],
    { timeout: 30_000 },
  );
  const after = await page.getAttribute(LAST_CHECK_TIME, 'datetime');
  assert.ok(after > before, `last check moved forward: ${before} -> ${after}`);
  assert.match(await page.textContent('[data-testid="last-check"]'), /^last check: \d\d:\d\d UTC/);
  assert.equal(await page.evaluate(() => window.__vigilNoReload), true, 'the page was not reloaded');
  const navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  assert.equal(navigations, 1);
  assert.deepEqual(problems, []);
  await page.close();
});

test('status is keyboard-reachable text, and each card links to its metric page', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/`);
  await page.locator('.metric-list a', { hasText: 'Feed views' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/metric\/feed_views$/);
  assert.deepEqual(problems, []);
  await page.close();
});

for (const path of ['/', '/alerts']) {
  test(`no sideways scrolling at phone width on ${path}`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}${path}`);
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForSelector(path === '/' ? CARD : '[data-testid="alerts-table"]');
    const { scrollWidth, innerWidth, navRight } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      navRight: document.querySelector('.topbar nav').getBoundingClientRect().right,
    }));
    assert.equal(innerWidth, 375);
    assert.ok(scrollWidth <= innerWidth, `${path}: page is ${scrollWidth}px wide at ${innerWidth}px`);
    assert.ok(navRight <= innerWidth, `${path}: the nav ends at ${navRight}px`);
    if (path === '/') {
      // Cards stack: one column.
      const lefts = await page.$$eval(CARD, (cards) => new Set(cards.map((c) => Math.round(c.getBoundingClientRect().left))).size);
      assert.equal(lefts, 1, 'cards stack in one column');
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
}

// Issue 20, finding 2: a card beside a firing last alert never says "ok".
// One of the slices of a metric that is in band gets an open alert, as a
// check would have written it, in the running server's state.
const SLICE_ALERT_ID = 920_000;
let sliceFiringMetric;

/// The metric given a firing slice: the first card that is "ok", once.
async function giveASliceAnAlert(page) {
  if (sliceFiringMetric) return sliceFiringMetric;
  await page.waitForSelector(`${CARD}[data-status="ok"]`, { timeout: 30_000 });
  const metric = await page.getAttribute(`${CARD}[data-status="ok"]`, 'data-metric');
  // The newest bucket: this is the metric's last alert.
  const started = Math.floor(Date.now() / 1000 / 900) * 900;
  const script = `
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=10)
conn.execute("""INSERT INTO alerts (id, metric, slice_dimension, slice_value, started_at, resolved_at,
    value, lower, upper, expected, deviation, detector, state, muted)
    VALUES (?, ?, 'os', 'iOS', ?, NULL, 3.0, 20.0, 65.0, 42.5, -0.9, 'iqr', 'firing', 0)""",
    (${SLICE_ALERT_ID}, sys.argv[2], ${started}))
# What the overview reads as open: the slice's lifecycle row, as a check keeps it.
conn.execute("""INSERT OR REPLACE INTO alert_state (metric, sliced, slice_dimension, slice_value,
    last_bucket, open_alert_id, started_at, announced)
    VALUES (?, 1, 'os', 'iOS', ?, ?, ?, 1)""",
    (sys.argv[2], ${started}, ${SLICE_ALERT_ID}, ${started}))
conn.commit()
`;
  await run('python3', ['-c', script, `${vigil.dataDir}/vigil-state.sqlite`, metric]);
  sliceFiringMetric = metric;
  return metric;
}

for (const width of [1280, 375]) {
  test(`at ${width} px a card whose slice fires says "a slice firing" (△), not "ok" beside its firing last alert`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}/`, { width, height: 900 });
    await lastCheck(page);
    const metric = await giveASliceAnAlert(page);
    const card = `${CARD}[data-metric="${metric}"]`;
    // The page re-reads the overview every 10 s.
    await page.waitForFunction(
      (selector) => /firing/.test(document.querySelector(selector)?.querySelector('[data-testid="last-alert"]')?.textContent ?? ''),
      card,
      { timeout: 30_000 },
    );
    const shown = await page.$eval(card, (c) => ({
      data: c.dataset.status,
      status: c.querySelector('[data-testid="card-status"]').textContent.replace(/\s+/g, ' ').trim(),
      lastAlert: c.querySelector('[data-testid="last-alert"]').textContent.replace(/\s+/g, ' ').trim(),
      badge: c.querySelector('[data-testid="card-status"]').getBoundingClientRect().toJSON(),
      box: c.getBoundingClientRect().toJSON(),
    }));
    assert.match(shown.lastAlert, /\(os=iOS\).*firing/, `${metric}: last alert ${shown.lastAlert}`);
    assert.doesNotMatch(shown.status, /^\W*ok$/, `${metric} says "${shown.status}" beside "${shown.lastAlert}"`);
    assert.match(shown.status, /^△\s*a slice firing$/);
    assert.equal(shown.data, 'slice-firing');
    // The badge is whole, inside its card, on a phone too.
    assert.ok(shown.badge.width > 0 && shown.badge.left >= shown.box.left && shown.badge.right <= shown.box.right + 0.5,
      `badge ${JSON.stringify(shown.badge)} inside card ${JSON.stringify(shown.box)}`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');
    assert.deepEqual(problems, []);
    await page.close();
  });
}
