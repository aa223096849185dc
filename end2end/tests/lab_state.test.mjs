// The lab as a new user meets it (issue 20, findings 2, 4, 5 and the
// plain-language help), at 1280 and 375 px: a typed value the lab cannot use
// marks its field and changes nothing; a value beyond the slider stretches
// it; a bad URL value is a 400 with the reason in the page; the detector,
// its parameters and the range live in the URL and survive a reload;
// applied settings are what the lab opens with; an alert's link lands on the
// alert as the check stored it, beside the lab's what-if; every figure and
// detector has a "what is this".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { startVigil } from './support/server.mjs';
import { openPage, canvasStats, unexpectedProblems } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

const run = promisify(execFile);
const TOKEN = 'e2e-lab-state-token';
const CHART = 'canvas[data-testid="metric-chart"]';
// Far below anything the server's own checks raise.
const ALERT_ID = 910_000;
// Three days ago, on a bucket boundary: inside the lab's month.
const ALERT_AT = Math.floor(Date.now() / 1000 / 900) * 900 - 3 * 86_400;
let vigil;
let browser;

/// One stored alert of feed_views, as a check would have written it, in the
/// running server's alert state (SQLite, WAL: the server reads it next).
async function seedAlert(server) {
  const script = `
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=10)
conn.execute("""INSERT INTO alerts (id, metric, started_at, resolved_at, value, lower, upper,
    expected, deviation, detector, state, muted)
    VALUES (?, 'feed_views', ?, NULL, 17.0, 20.0, 65.0, 42.5, -0.6, 'iqr', 'firing', 0)""",
    (${ALERT_ID}, ${ALERT_AT}))
conn.commit()
`;
  await run('python3', ['-c', script, path.join(server.dataDir, 'vigil-state.sqlite')]);
}

/// The server, with the stored alert.
async function startSeeded() {
  const server = await startVigil({ env: { VIGIL_OPERATOR_TOKEN: TOKEN } });
  await seedAlert(server).catch(async (error) => {
    await server.stop();
    throw error;
  });
  return server;
}

withVigilAndBrowser(startSeeded, (started) => ({ vigil, browser } = started));

async function open(width, url) {
  const opened = await openPage(browser, url);
  await opened.page.setViewportSize({ width, height: 800 });
  return opened;
}

const text = async (page, selector) => (await page.locator(selector).first().textContent()).trim();

/// Distance in CSS pixels between two boxes (0 when they touch or overlap).
function gap(a, b) {
  const dx = Math.max(0, a.x - (b.x + b.width), b.x - (a.x + a.width));
  const dy = Math.max(0, a.y - (b.y + b.height), b.y - (a.y + a.height));
  return Math.hypot(dx, dy);
}

for (const width of [1280, 375]) {
  test(`at ${width} px a value the lab cannot use marks its field and keeps the previous one`, async () => {
    const { page, problems } = await open(width, `${vigil.url}/metric/feed_views?detector=iqr`);
    const count = await text(page, '[data-testid="anomaly-count"]');
    const chart = await canvasStats(page, CHART);
    for (const typed of ['-5', '1000']) {
      await page.fill('#param-a-number', typed);
      await page.press('#param-a-number', 'Enter');
      const error = page.locator('#param-a-error [data-testid="lab-error"]');
      await error.waitFor({ timeout: 10_000 });
      assert.match(await error.textContent(), new RegExp(`a \\(band width in IQRs\\): from 0 to 100, not ${typed}`));
      assert.equal(await page.getAttribute('#param-a-number', 'aria-invalid'), 'true');
      // Beside the field, not at the bottom of the form.
      const distance = gap(await page.locator('#param-a-number').boundingBox(), await error.boundingBox());
      assert.ok(distance <= 60, `the message is ${Math.round(distance)} px from its field`);
      // The slider, the figures and the chart still show a = 4.
      assert.equal(await page.inputValue('#param-a'), '4');
      assert.equal(await text(page, '[data-testid="anomaly-count"]'), count);
      assert.equal((await canvasStats(page, CHART)).hash, chart.hash);
    }
    // A good value clears the mark.
    await page.fill('#param-a-number', '3');
    await page.press('#param-a-number', 'Enter');
    await page.waitForFunction(() => document.querySelector('#param-a-number')?.getAttribute('aria-invalid') === 'false');
    assert.equal(await page.inputValue('#param-a'), '3');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`at ${width} px a value beyond the slider stretches it instead of pinning it`, async () => {
    const { page, problems } = await open(width, `${vigil.url}/metric/feed_views?detector=iqr`);
    await page.fill('#param-a-number', '15.7');
    await page.press('#param-a-number', 'Enter');
    await page.waitForFunction(() => document.querySelector('#param-a')?.value === '15.7');
    assert.ok(Number(await page.getAttribute('#param-a', 'max')) >= 15.7);
    assert.match(await text(page, '.slider:has(#param-a) .hint'), /beyond the slider's usual 0 to 10/);
    // The budget's answer is what the slider then shows.
    await page.fill('#budget-n', '0.5');
    await page.click('[data-testid="budget-solve"]');
    await page.waitForSelector('[data-testid="budget-value"], [data-testid="budget-result"] .error');
    const solved = await page.locator('[data-testid="budget-value"]').textContent().catch(() => null);
    if (solved) {
      const value = solved.split(' = ')[1];
      await page.waitForFunction((v) => document.querySelector('#param-a-number')?.value === v, value);
      assert.equal(await page.inputValue('#param-a'), String(Number(value)));
    }
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`at ${width} px a bad value in the lab's URL is a 400, its reason in the page`, async () => {
    const url = `${vigil.url}/metric/feed_views?at=abc&state=%27%3BDROP&detector=iqr&a=-5`;
    assert.equal((await fetch(url)).status, 400);
    assert.equal((await fetch(`${vigil.url}/metric/feed_views?detector=iqr&a=5`)).status, 200);
    const { page, problems } = await open(width, url);
    const notices = await text(page, '[data-testid="query-notices"]');
    assert.match(notices, /ignored: at must be a time like 2026-12-01T14:15/);
    assert.match(notices, /ignored: "state" is not a parameter of iqr \(it has a, n\)/);
    assert.match(notices, /ignored: a \(band width in IQRs\): from 0 to 100, not -5/);
    // The rest still opens: the detector asked for, with its default a.
    assert.equal(await page.inputValue('#detector'), 'iqr');
    assert.equal(await page.inputValue('#param-a-number'), '4');
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.close();
  });

  test(`at ${width} px the detector, its parameters and the range survive a reload`, async () => {
    const { page, problems } = await open(width, `${vigil.url}/metric/feed_views?detector=iqr`);
    await page.fill('#param-a-number', '5.6');
    await page.press('#param-a-number', 'Enter');
    await page.fill('#param-n-number', '23');
    await page.press('#param-n-number', 'Enter');
    await page.getByRole('button', { name: '7d', exact: true }).click();
    await page.waitForFunction(() => {
      const q = new URL(location.href).searchParams;
      return q.get('a') === '5.6' && q.get('n') === '23' && q.has('from') && q.has('to');
    });
    const shared = page.url();
    assert.equal(new URL(shared).searchParams.get('detector'), 'iqr');
    const figures = await text(page, 'section.figures dl');
    await page.reload();
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
    assert.equal(page.url(), shared);
    assert.equal(await page.inputValue('#detector'), 'iqr');
    assert.equal(await page.inputValue('#param-a-number'), '5.6');
    assert.equal(await page.inputValue('#param-n-number'), '23');
    assert.equal(await page.getByRole('button', { name: '7d', exact: true }).getAttribute('aria-pressed'), 'true');
    assert.equal(await text(page, 'section.figures dl'), figures);
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('applied settings are what the lab opens with, and "In effect" reads in words', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?detector=iqr&a=5.6&n=23`);
  await page.fill('#operator-token', TOKEN);
  await page.click('[data-testid="apply-current"]');
  await page.waitForFunction(
    () => /iqr \(applied from the lab\)/.test(document.querySelector('[data-testid="in-effect"]')?.textContent ?? ''),
    null,
    { timeout: 15_000 },
  );
  const params = await text(page, '[data-testid="in-effect-params"]');
  assert.match(params, /a = 5\.6 · n = 23 · smooth = asof/);
  assert.ok(!(await page.locator('[data-testid="in-effect"]').textContent()).includes('{"'), 'no raw JSON in the sentence');
  await page.locator('[data-testid="in-effect"] details.help summary').click();
  assert.match(await text(page, '[data-testid="in-effect"] .help-text'), /smooth = asof: each bucket's band is averaged/);
  await page.close();

  for (const width of [1280, 375]) {
    const plain = await open(width, `${vigil.url}/metric/feed_views`);
    assert.equal(await plain.page.inputValue('#detector'), 'iqr');
    assert.equal(await plain.page.inputValue('#param-a-number'), '5.6');
    assert.equal(await plain.page.inputValue('#param-n-number'), '23');
    assert.deepEqual(plain.problems, []);
    await plain.page.close();
  }
  assert.deepEqual(problems, []);
});

for (const width of [1280, 375]) {
  test(`at ${width} px an alert's link shows the alert as stored beside the lab's what-if`, async () => {
    const { page, problems } = await open(width, `${vigil.url}/alerts?metric=feed_views`);
    const row = page.locator(`tr[data-alert-id="${ALERT_ID}"]`);
    await row.waitFor({ timeout: 15_000 });
    const band = (await row.locator('td.num').allTextContents()).map((t) => t.trim()).find((t) => t.includes(' – '));
    assert.equal(band, '20 – 65');
    await row.locator('a[href*="/metric/feed_views"]').first().click();
    await page.waitForURL((url) => url.pathname === '/metric/feed_views' && url.searchParams.get('at') === String(ALERT_AT));
    const stored = page.getByTestId('stored-check');
    await stored.waitFor({ timeout: 15_000 });
    assert.equal(await text(page, '[data-testid="stored-value"]'), '17');
    assert.equal(await text(page, '[data-testid="stored-band"]'), band);
    assert.equal(await text(page, '[data-testid="stored-state"]'), 'firing');
    assert.match(await stored.textContent(), /What the check saw \(stored alert 910000\)/);
    // The lab's own figure at that bucket, named as a what-if.
    assert.match(await text(page, '[data-testid="what-if"]'), /^The lab's what-if: \w+ on the history loaded now: value /);
    assert.ok(await page.getByTestId('stored-alert').isVisible());
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.close();
  });

  test(`at ${width} px every figure and the detector say what they are`, async () => {
    const { page, problems } = await open(width, `${vigil.url}/metric/feed_views?detector=iqr`);
    const figures = ['Anomalies', 'Alerts', 'Alerts / week', 'Precision', 'Recall', 'F1', 'Median delay',
      'False alerts / week', 'Incidents caught'];
    for (const name of figures) {
      const summary = page.locator(`section.figures summary[aria-label="What is ${name}?"]`);
      assert.equal(await summary.count(), 1, name);
    }
    const precision = page.locator('section.figures summary[aria-label="What is Precision?"]');
    await precision.click();
    const help = page.locator('section.figures details[open] .help-text');
    assert.ok(await help.isVisible());
    assert.match(await help.textContent(), /from 0 to 1; – when there is no alert to judge/);
    // The slice-only labels: said to be neutral, not scored.
    assert.match(await text(page, '[data-testid="neutral-note"]'), /^\d+ more labelled spans? (is|are) neutral here/);
    // The detector's help follows the picker.
    const detectorHelp = page.locator('.controls details.help .help-text');
    assert.match(await detectorHelp.textContent(), /interquartile range/);
    await page.selectOption('#detector', 'changepoint');
    await page.waitForFunction(() => /CUSUM/.test(document.querySelector('.controls details.help .help-text')?.textContent ?? ''));
    await page.selectOption('#detector', 'forecast');
    await page.waitForFunction(() => /MSTL.*ETS/.test(document.querySelector('.controls details.help .help-text')?.textContent ?? ''));
    // Label roles and the budget's bisection explained.
    assert.match(await page.locator('[data-testid="labels"] .help-text').textContent(), /“to find”: an incident an alert should catch/);
    assert.match(await page.locator('.budget .help-text').textContent(), /bisection/);
    assert.deepEqual(problems, []);
    await page.close();
  });
}
