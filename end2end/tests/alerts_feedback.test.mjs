// /alerts as a new user meets it (issue 20, findings 1, 4 and 7): every
// write answers beside the control that sent it, a read-only server's
// controls are off with their reason, the token survives moving between
// pages, the history comes 50 rows at a time with its count and the page in
// the URL, skip links reach the table and the silence form, and a slice
// with no data is refused naming the values there are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { startVigil } from './support/server.mjs';
import { gap, openPage, settledBox, unexpectedProblems } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

const run = promisify(execFile);
const TOKEN = 'e2e-feedback-token';
const SEEDED = 120;
// Far below anything the server's own checks raise.
const FIRST_ID = 900_000;
let writable;
let readOnly;
let browser;

/// 120 unlabelled, resolved alerts of feed_views in 2023, written to the
/// running server's alert state (SQLite, WAL: the server reads them next).
async function seedAlerts(vigil) {
  const script = `
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=10)
for i in range(${SEEDED}):
    started = 1700000000 + i * 900
    conn.execute("""INSERT INTO alerts (id, metric, started_at, resolved_at, value, lower, upper,
        expected, deviation, detector, state, muted)
        VALUES (?, 'feed_views', ?, ?, 10.0, 300.0, 500.0, 400.0, -0.9, 'iqr', 'resolved', 0)""",
        (${FIRST_ID} + i, started, started + 900))
conn.commit()
`;
  await run('python3', ['-c', script, path.join(vigil.dataDir, 'vigil-state.sqlite')]);
}

/// A server with an operator token and a read-only one, each with the alerts.
async function startBoth() {
  const [withToken, without] = await Promise.all([startVigil({ env: { VIGIL_OPERATOR_TOKEN: TOKEN } }), startVigil()]);
  const servers = { writable: withToken, readOnly: without };
  await Promise.all([seedAlerts(withToken), seedAlerts(without)]).catch(async (error) => {
    await Promise.all([withToken.stop(), without.stop()]);
    throw error;
  });
  return servers;
}

withVigilAndBrowser(startBoth, ({ vigil, browser: started }) => {
  ({ writable, readOnly } = vigil);
  browser = started;
});

async function near(page, control, selector) {
  const message = page.locator(selector).first();
  await message.waitFor({ timeout: 15_000 });
  const distance = gap(control, await settledBox(message, { scroll: false }));
  assert.ok(distance <= 100, `${selector} is ${Math.round(distance)} px from its control`);
  return (await message.textContent()).trim();
}

for (const width of [1280, 375]) {
  test(`at ${width} px a label's and a silence's answers appear beside their buttons`, async () => {
    const { page, problems } = await openPage(browser, `${writable.url}/alerts?metric=feed_views&page=2`);
    await page.setViewportSize({ width, height: 800 });
    const button = page.getByRole('button', { name: /Label alert \d+ a false alarm/ }).first();
    const box = await settledBox(button);
    const id = (await button.getAttribute('aria-label')).match(/Label alert (\d+)/)[1];

    // No token typed: said beside the button, nothing sent.
    await button.click();
    assert.match(await near(page, box, `tr[data-alert-id="${id}"] [data-testid="label-error"]`), /operator token required/);
    assert.ok(await page.locator('[data-testid="label-error"]').first().isVisible());

    await page.fill('#operator-token', TOKEN);
    // Typing the token scrolled the page up to its field (on a phone the
    // stacked rows put it a screen above the button): where the button is now.
    const again = page.getByRole('button', { name: `Label alert ${id} a false alarm` });
    const pressed = await settledBox(again);
    await again.click();
    assert.equal(await near(page, pressed, `tr[data-alert-id="${id}"] [data-testid="label-status"]`), 'Labelled a false alarm.');
    await page.waitForFunction(
      (alertId) => document.querySelector(`tr[data-alert-id="${alertId}"]`)?.textContent.includes('false_alarm (by web)'),
      id,
      { timeout: 15_000 },
    );

    // A silence for a slice with no data: refused beside the Silence button,
    // naming the values there are.
    await page.selectOption('#silence-metric', 'feed_views');
    await page.fill('#silence-slice', 'os=Windows');
    const silence = page.locator('.silence-form button[type="submit"]');
    const silenceBox = await settledBox(silence);
    await silence.click();
    const refusal = await near(page, silenceBox, '[data-testid="silence-error"]');
    assert.match(refusal, /no data for os=Windows/);
    assert.match(refusal, /Android, iOS/);
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.close();
  });
}

for (const width of [1280, 375]) {
  test(`at ${width} px the token is kept across pages in the tab, never in the URL or the HTML`, async () => {
    const { page, problems } = await openPage(browser, `${writable.url}/alerts`, { width, height: 900 });
    await page.fill('#operator-token', TOKEN);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Metrics' }).click();
    await page.waitForURL(`${writable.url}/`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL(`${writable.url}/alerts`);
    await page.waitForFunction((t) => document.querySelector('#operator-token')?.value === t, TOKEN, { timeout: 10_000 });
    await page.reload();
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.waitForFunction((t) => document.querySelector('#operator-token')?.value === t, TOKEN, { timeout: 10_000 });
    assert.ok(!page.url().includes(TOKEN));
    const html = await (await fetch(`${writable.url}/alerts`)).text();
    assert.ok(!html.includes(TOKEN));
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.close();
  });
}

for (const width of [1280, 375]) {
  test(`at ${width} px the history pages 50 at a time, the page in the URL; skip links reach the table and the form`, async () => {
    const { page, problems } = await openPage(browser, `${writable.url}/alerts?metric=feed_views`, { width, height: 900 });
    const count = page.getByTestId('alert-count-top');
    assert.match(await count.textContent(), /^1–50 of \d+$/);
    const total = Number((await count.textContent()).split(' of ')[1]);
    assert.ok(total >= SEEDED, `${total} alerts`);
    assert.equal(await page.locator('tr[data-alert-id]').count(), 50);

    await page.getByTestId('pager-top').getByRole('link', { name: 'Older →' }).click();
    await page.waitForURL(/[?&]page=2\b/);
    await page.waitForFunction(() => document.querySelector('[data-testid="alert-count-top"]')?.textContent.startsWith('51–100 of'));
    assert.equal(await page.locator('tr[data-alert-id]').count(), 50);
    // A filter starts again from its first page.
    await page.selectOption('#filter-state', 'resolved');
    await page.waitForURL((url) => url.searchParams.get('state') === 'resolved' && !url.searchParams.has('page'));
    await page.waitForFunction(() => document.querySelector('[data-testid="alert-count-top"]')?.textContent.startsWith('1–50 of'));
    // Metric titles, the ID beside them.
    assert.match(await page.locator('tr[data-alert-id] td:nth-child(2)').first().textContent(), /Feed views\s*feed_views/);

    // Skip links: one Tab after the jump lands in the form.
    await page.getByRole('link', { name: 'Skip to New silence' }).click();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'silence-metric');
    await page.getByRole('link', { name: 'Skip to the alert table' }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'alerts-table');
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.close();
  });
}

for (const width of [1280, 375]) {
  test(`at ${width} px a bad value in the URL is a 400, ignored in view with what was expected`, async () => {
    const url = `${writable.url}/alerts?at=abc&state=%27%3BDROP`;
    // The rule of every page that reads its URL (the lab's too).
    assert.equal((await fetch(url)).status, 400);
    assert.equal((await fetch(`${writable.url}/alerts?state=firing`)).status, 200);
    const { page, problems } = await openPage(browser, url, { width, height: 900 });
    const notices = await page.getByTestId('query-notices').textContent();
    assert.match(notices, /ignored: at must be a time like 2026-12-01T14:15/);
    assert.match(notices, /ignored: state must be firing or resolved/);
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.close();
  });
}

for (const width of [1280, 375]) {
  test(`at ${width} px on a read-only server the write controls are off, with their reason in view`, async () => {
    const { page, problems } = await openPage(browser, `${readOnly.url}/alerts?metric=feed_views`, { width, height: 900 });
    const reason = page.getByTestId('labels-read-only');
    assert.ok(await reason.isVisible());
    assert.equal((await reason.textContent()).trim(), 'read-only: start vigil with an operator token to label');
    const button = page.getByRole('button', { name: /Label alert \d+ a false alarm/ }).first();
    assert.ok(await button.isDisabled());
    assert.equal(await button.getAttribute('aria-describedby'), 'labels-read-only');
    assert.ok(await page.locator('.silence-form button[type="submit"]').isDisabled());
    assert.match(await page.getByTestId('silences-read-only').textContent(), /read-only: start vigil with an operator token/);

    // The lab's Mark and Apply are off the same way, before they are used.
    await page.goto(`${readOnly.url}/metric/feed_views`);
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
    const labReason = page.getByTestId('lab-read-only');
    await labReason.waitFor({ timeout: 15_000 });
    assert.equal((await labReason.textContent()).trim(), 'read-only: start vigil with an operator token to mark labels or apply settings');
    for (const control of [page.getByRole('button', { name: 'Mark', exact: true }), page.getByTestId('apply-current')]) {
      await control.scrollIntoViewIfNeeded();
      assert.ok(await control.isDisabled(), `${await control.textContent()} is enabled on a read-only server`);
      assert.equal(await control.getAttribute('aria-describedby'), 'lab-read-only');
    }
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.close();
  });
}

for (const width of [1280, 375]) {
  test(`at ${width} px a metric page for a slice with no data is a 404 that names the slices there are`, async () => {
    const url = `${writable.url}/metric/feed_views?slice=os%3DWindows`;
    assert.equal((await fetch(url)).status, 404);
    const { page, problems } = await openPage(browser, url, { width, height: 900 });
    const error = page.locator('.error[role="alert"]').first();
    assert.match(await error.textContent(), /no data for os=Windows .*: its os values are Android, iOS/);
    assert.ok(await page.getByTestId('metric-links').isVisible());
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.close();
  });
}
