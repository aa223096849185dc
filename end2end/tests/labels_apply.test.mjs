// Labels and Apply on the metric page: both writes are refused without the
// operator token; a span marked with it is stored server-side and still there
// after a reload; the lab's detector applied with it is what the live checks
// use from then on, and the change is listed with its old value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVigil } from './support/server.mjs';
import { gap, openPage, unexpectedProblems } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

const TOKEN = 'e2e-lab-operator-token';
let vigil;
let browser;

withVigilAndBrowser(() => startVigil({ env: { VIGIL_OPERATOR_TOKEN: TOKEN } }), (started) => ({ vigil, browser } = started));

const LABELS = '[data-testid="label-list"]';
// A refused server function is a failed request in the browser's eyes.
const unexpected = unexpectedProblems;

// Issue 20, finding 1: without the token, Mark and Apply answer beside
// themselves, in view, and send nothing.
for (const width of [1280, 375]) {
  test(`at ${width} px Mark and Apply without the token answer beside their buttons`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views`, { width, height: 900 });
    await page.click('text=Use the visible range');
    await page.waitForFunction(() => /^\d{4}-\d\d-\d\d \d\d:\d\d$/.test(document.querySelector('#label-from').value));
    for (const [button, answer] of [
      ['.label-form button[type="submit"]', '[data-testid="label-error"]'],
      ['[data-testid="apply-current"]', '[data-testid="apply-error"]'],
    ]) {
      await page.locator(button).scrollIntoViewIfNeeded();
      const box = await page.locator(button).boundingBox();
      await page.click(button);
      const message = page.locator(answer);
      await message.waitFor({ timeout: 10_000 });
      assert.match(await message.textContent(), /operator token required/);
      const distance = gap(box, await message.boundingBox());
      assert.ok(distance <= 100, `${answer} is ${Math.round(distance)} px from ${button}`);
      assert.ok(await message.isVisible());
    }
    assert.equal(await page.locator(`${LABELS} li[data-origin="user"]`).count(), 0, 'nothing was marked');
    assert.deepEqual(unexpected(problems), []);
    await page.close();
  });
}

test('a marked span needs the token, is stored, and shows after a reload', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views`);
  await page.waitForSelector(LABELS);
  // Wait for hydration: the visible-range button fills the form in the browser only.
  await page.waitForFunction(() => document.querySelector('#label-from') !== null);
  await page.click('text=Use the visible range');
  await page.waitForFunction(() => /^\d{4}-\d\d-\d\d \d\d:\d\d$/.test(document.querySelector('#label-from').value));

  await page.fill('#label-from', 'not a time');
  await page.click('.label-form button[type="submit"]');
  const invalid = await page.waitForSelector('[data-testid="label-error"]');
  assert.match(await invalid.textContent(), /from: expected YYYY-MM-DD HH:MM/);

  const now = new Date();
  const day = new Date(now.getTime() - 2 * 86_400_000).toISOString().slice(0, 10);
  await page.fill('#label-from', `${day} 10:00`);
  await page.fill('#label-to', `${day} 11:00`);
  await page.selectOption('#label-kind', 'false_alarm');
  await page.fill('#label-note', 'marketing push, not a break');
  await page.click('.label-form button[type="submit"]');
  await page.waitForFunction(
    () => /operator token required/.test(document.querySelector('[data-testid="label-error"]')?.textContent ?? ''),
    null,
    { timeout: 10_000 },
  );

  await page.fill('#operator-token', TOKEN);
  await page.click('.label-form button[type="submit"]');
  await page.waitForFunction(
    (selector) => document.querySelector(selector)?.textContent.includes('marketing push'),
    LABELS,
    { timeout: 15_000 },
  );

  await page.reload();
  await page.waitForSelector(LABELS);
  const item = page.locator(`${LABELS} li[data-origin="user"]`);
  assert.equal(await item.count(), 1);
  assert.match(await item.first().textContent(), /false_alarm.*false alarm.*marketing push/s);
  assert.deepEqual(unexpected(problems), []);
  await page.close();
});

test('applying the lab detector needs the token and is recorded', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_likes`);
  await page.waitForSelector('[data-testid="in-effect"]');
  assert.match(await page.textContent('[data-testid="in-effect"]'), /learned \(vigil's default: no detector configured for this metric\)/);

  await page.selectOption('#detector', 'seasonal');
  await page.waitForFunction(() => /Apply seasonal/.test(document.querySelector('[data-testid="apply-current"]')?.textContent ?? ''));
  await page.click('[data-testid="apply-current"]');
  const refusal = await page.waitForSelector('[data-testid="apply-error"]', { timeout: 10_000 });
  assert.match(await refusal.textContent(), /operator token required/);

  await page.fill('#operator-token', TOKEN);
  await page.click('[data-testid="apply-current"]');
  await page.waitForFunction(
    () => /seasonal \(applied from the lab\)/.test(document.querySelector('[data-testid="in-effect"]')?.textContent ?? ''),
    null,
    { timeout: 15_000 },
  );
  const changes = page.locator('[data-testid="setting-changes"] li');
  assert.equal(await changes.count(), 1);
  assert.match(await changes.first().textContent(), /by web.*"learned".*"seasonal"/s);

  // The server function says the same to anyone asking.
  const response = await fetch(`${vigil.url}/api/fetch_detector`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'metric=feed_likes',
  });
  assert.equal((await response.json()).origin, 'applied');
  assert.deepEqual(unexpected(problems), []);
  await page.close();
});

test('a link from an alert opens the day around it', async () => {
  const at = Math.floor(Date.now() / 1000 / 900) * 900 - 3 * 86_400;
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views?at=${at}`);
  await page.waitForSelector('canvas[data-testid="metric-chart"]');
  // The chart shows one day, not the month: the 1d preset is not pressed, but
  // the visible range spans about 24 hours around the alert.
  await page.click('text=Use the visible range');
  const seconds = (text) => Date.parse(`${text.replace(' ', 'T')}:00Z`) / 1000;
  const from = seconds(await page.inputValue('#label-from'));
  const to = seconds(await page.inputValue('#label-to'));
  assert.ok(to - from <= 86_400 + 900 && to - from >= 86_400 - 900, `${from}..${to}`);
  assert.ok(from <= at && at < to, `${from} <= ${at} < ${to}`);
  assert.deepEqual(unexpected(problems), []);
  await page.close();
});

test('small multiples show each slice and open the lab on one', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/metric/feed_views`);
  const cards = page.locator('[data-testid="slice-grid"] li');
  await cards.first().waitFor({ timeout: 15_000 });
  assert.ok((await cards.count()) >= 2, 'one small multiple per os');
  assert.ok((await page.locator('[data-testid="slice-grid"] svg').count()) >= 2, 'each with a sparkline');

  // Another dimension, then open one slice.
  await page.selectOption('#slice-dimension', 'source');
  await page.waitForFunction(() => /^source=/.test(document.querySelector('[data-testid="slice-grid"] a')?.textContent ?? ''));
  const first = page.locator('[data-testid="slice-grid"] a').first();
  const key = (await first.textContent()).trim();
  await first.click();
  await page.waitForURL(/\?slice=source%3D/);
  const value = key.split('=')[1];
  await page.waitForFunction((v) => document.querySelector('h1')?.textContent.includes(`source = ${v}`), value);
  assert.ok(await page.locator('text=← all of feed_views').count());
  // Settings are per metric: on a slice the Apply panel says they reach every slice.
  assert.match(await page.locator('[data-testid="apply-scope"]').textContent(), new RegExp(`source=${value}.*every slice`));
  assert.deepEqual(unexpected(problems), []);
  await page.close();
});
