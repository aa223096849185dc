// The alerts page: history table and silences. Creating a silence needs the
// operator token; without it the refusal is shown inline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVigil } from './support/server.mjs';
import { openPage, unexpectedProblems } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

const TOKEN = 'e2e-operator-token';

let vigil;
let browser;

withVigilAndBrowser(() => startVigil({ env: { VIGIL_OPERATOR_TOKEN: TOKEN } }), (started) => ({ vigil, browser } = started));

test('the alerts page is server-rendered and linked from the nav', async () => {
  const html = await (await fetch(`${vigil.url}/alerts`)).text();
  assert.match(html, /data-testid="alerts-table"/);
  assert.match(html, /data-testid="silences"/);
  assert.match(html, /href="\/alerts"/);
});

test('a silence is refused without the token and listed with it', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/alerts`);
  await page.waitForSelector('[data-testid="alerts-table"]');
  await page.waitForSelector('[data-testid="no-silences"]');

  // Every control has an accessible label.
  for (const label of ['Metric', 'Slice (optional, dimension=value)', 'Duration (minutes)', 'Operator token']) {
    assert.equal(await page.getByLabel(label, { exact: true }).count() >= 1, true, `labelled: ${label}`);
  }

  await page.selectOption('#silence-metric', 'feed_views');
  await page.fill('#silence-slice', 'os=Android');
  await page.fill('#silence-minutes', '45');
  await page.click('.silence-form button[type="submit"]');
  const refusal = await page.waitForSelector('[data-testid="silence-error"]', { timeout: 10_000 });
  assert.match(await refusal.textContent(), /operator token required/);
  assert.equal(await page.locator('[data-testid="silence-list"] li').count(), 0);

  await page.fill('#operator-token', TOKEN);
  await page.click('.silence-form button[type="submit"]');
  await page.waitForSelector('[data-testid="silence-status"]', { timeout: 10_000 });
  const item = page.locator('[data-testid="silence-list"] li');
  await item.first().waitFor({ timeout: 10_000 });
  assert.match(await item.first().textContent(), /feed_views · os=Android/);

  // The End button ends it (the token is still in the form).
  await page.getByRole('button', { name: /End silence/ }).first().click();
  await page.waitForSelector('[data-testid="no-silences"]', { timeout: 10_000 });

  // A refused server function is reported by the browser as a failed request; nothing else may be.
  assert.deepEqual(unexpectedProblems(problems), []);
  await page.close();
});
