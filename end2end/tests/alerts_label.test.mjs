// Marking a past alert as a false alarm from /alerts: the simulator's feed
// outage is checked (`vigil check --at` on the served data), its alerts are
// listed, and a press on "False alarm" with the operator token labels it;
// the label is stored, so it is there after a reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVigil } from './support/server.mjs';
import { checkTheOutage } from './support/pages.mjs';
import { openPage, unexpectedProblems } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

const TOKEN = 'e2e-alerts-token';
let vigil;
let browser;

withVigilAndBrowser(() => startVigil({ env: { VIGIL_OPERATOR_TOKEN: TOKEN }, prepare: checkTheOutage }), (started) => ({ vigil, browser } = started));

test('a past alert is labelled a false alarm from the history page', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/alerts`);
  await page.selectOption('#filter-metric', 'feed_views');
  // The filter refetches the list: wait until every row listed is feed_views',
  // or the button found could belong to a row the filter is about to remove.
  await page.waitForFunction(
    () => {
      const rows = [...document.querySelectorAll('tr[data-alert-id]')];
      return rows.length > 0 && rows.every((row) => row.querySelector('a')?.getAttribute('href')?.startsWith('/metric/feed_views?'));
    },
    null,
    { timeout: 15_000 },
  );
  const button = page.getByRole('button', { name: /Label alert \d+ a false alarm/ }).first();
  await button.waitFor({ timeout: 15_000 });
  const name = await button.getAttribute('aria-label');
  const id = name.match(/Label alert (\d+)/)[1];
  const row = page.locator(`tr[data-alert-id="${id}"]`);
  // Its link opens the metric page (the alert's slice of it, for a slice's
  // alert) at the alert's moment.
  assert.match(await row.locator('a').first().getAttribute('href'), /^\/metric\/feed_views\?(slice=[^&]+&)?at=\d+$/);

  await button.click();
  const refusal = await page.waitForSelector('[data-testid="label-error"]', { timeout: 10_000 });
  assert.match(await refusal.textContent(), /operator token required/);

  await page.fill('#operator-token', TOKEN);
  await page.getByRole('button', { name: `Label alert ${id} a false alarm` }).click();
  await page.waitForFunction(
    (alertId) => document.querySelector(`tr[data-alert-id="${alertId}"]`)?.textContent.includes('false_alarm (by web)'),
    id,
    { timeout: 15_000 },
  );

  await page.reload();
  await page.waitForSelector(`tr[data-alert-id="${id}"]`);
  assert.match(await page.locator(`tr[data-alert-id="${id}"]`).textContent(), /false_alarm \(by web\)/);
  assert.equal(await page.getByRole('button', { name: `Label alert ${id} a false alarm` }).count(), 0);
  assert.deepEqual(unexpectedProblems(problems), []);
  await page.close();
});
