// The morning report's page on the embedded default: reached from the nav,
// yesterday's metrics with their changes and the day's alerts, any date through the form, at desktop and phone width.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVigil } from './support/server.mjs';
import { openPage, unexpectedProblems } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

let vigil;
let browser;

withVigilAndBrowser(() => startVigil(), (started) => ({ vigil, browser } = started));

/// `YYYY-MM-DD` of `days` before today (UTC, the default offset).
function isoDaysAgo(days) {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

for (const width of [1280, 375]) {
  test(`at ${width} px the nav opens yesterday's report with metrics and alerts`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}/`);
    await page.setViewportSize({ width, height: 900 });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Report' }).click();
    await page.waitForSelector('[data-testid="report-day"]', { timeout: 60_000 });
    const report = await page.evaluate(() => ({
      path: location.pathname,
      rows: [...document.querySelectorAll('.report-metrics tbody tr')].map((tr) =>
        [...tr.children].map((td) => td.textContent.trim()),
      ),
      headings: [...document.querySelectorAll('main h2')].map((h) => h.textContent),
      experiments: [
        ...([...document.querySelectorAll('main h2')]
          .find((h) => h.textContent === 'Experiments')
          ?.nextElementSibling?.querySelectorAll('li') ?? []),
      ].map((li) => li.textContent.trim()),
      // How each number column is aligned, header and cells.
      alignments: [...document.querySelectorAll('.report-metrics tr > :not(:first-child)')].map((cell) => getComputedStyle(cell).textAlign),
      scrollWidth: document.documentElement.scrollWidth,
      field: document.querySelector('input[name="date"]')?.value,
    }));
    assert.equal(report.path, '/report');
    // The day field holds the day shown (yesterday), not an empty mm/dd/yyyy.
    assert.equal(report.field, isoDaysAgo(1));
    assert.ok(report.rows.length >= 6, JSON.stringify(report.rows));
    for (const [title, value, dayOverDay, weekOverWeek] of report.rows) {
      // Counts with their thousands grouped (66,692), shares in percent.
      assert.match(value, /^(\d{1,3}(,\d{3})*|\d+\.\d+ %)$/, `${title}: value ${value}`);
      assert.match(dayOverDay, /^([+−]\d+\.\d %|—)$/, `${title}: d/d ${dayOverDay}`);
      assert.match(weekOverWeek, /^([+−]\d+\.\d %|—)$/, `${title}: w/w ${weekOverWeek}`);
    }
    assert.deepEqual([...new Set(report.alignments)], ['right'], 'numbers right-aligned');
    assert.ok(report.headings.some((h) => /^Alerts \(\d+\)$/.test(h)), JSON.stringify(report.headings));
    // The experiments the checks watch (the simulator's, on the embedded
    // default): each comparison a line, with its verdict.
    assert.ok(report.experiments.length >= 1, JSON.stringify(report.experiments));
    for (const line of report.experiments) {
      assert.match(line, /^[a-z0-9-]+: .*(; diverges \(p = |; inconclusive \(p = |sample ratio mismatch|nothing to compare yet)/, line);
    }
    assert.ok(report.scrollWidth <= width, `page is ${report.scrollWidth}px wide at ${width}`);
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.close();
  });
}

test('the form shows another day, and a malformed date is refused with the format', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/report`);
  const day = isoDaysAgo(3);
  await page.fill('input[name="date"]', day);
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(`**/report?date=${day}`);
  await page.waitForFunction(
    (expected) => document.querySelector('input[name="date"]')?.value === expected,
    day,
  );
  const date = new Date(`${day}T00:00:00Z`);
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][date.getUTCMonth()];
  const long = `${date.getUTCDate()} ${month} ${date.getUTCFullYear()}`;
  await page.waitForFunction(
    (expected) => document.querySelector('[data-testid="report-day"]')?.textContent.endsWith(expected),
    long,
    { timeout: 30_000 },
  );
  assert.deepEqual(unexpectedProblems(problems), []);
  await page.close();
  // A date the page cannot read: the default day, a notice naming the value, and 400.
  const refused = await fetch(`${vigil.url}/report?date=yesterday`);
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /ignored: date (&quot;|")yesterday(&quot;|") is not a day: use YYYY-MM-DD/);
});
