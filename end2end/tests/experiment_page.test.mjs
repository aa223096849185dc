// The experiment pages on the embedded default (the simulator's experiments):
// the list linked from the nav, and a page per experiment with the groups'
// series overlaid, the effect over time with its confidence band and the
// alert's figures, at desktop and phone width, drawn before any script runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVigil } from './support/server.mjs';
import { openPage, unexpectedProblems } from './support/browser.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

let vigil;
let browser;

withVigilAndBrowser(() => startVigil(), (started) => ({ vigil, browser } = started));

const SIMULATED = ['aa-check', 'feed-ranking-v2', 'messenger-suggestions', 'onboarding-v3'];

/// Points drawn by the polylines matching `selector` inside `root`.
function pointsIn(root, selector) {
  return [...root.querySelectorAll(selector)].reduce((n, line) => n + line.getAttribute('points').trim().split(' ').length, 0);
}

test('the nav leads to the experiments, each linked to its page', async () => {
  const { page, problems } = await openPage(browser, `${vigil.url}/`);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Experiments' }).click();
  await page.waitForSelector('[data-testid="experiment-row"]', { timeout: 60_000 });
  const rows = await page.$$eval('[data-testid="experiment-row"]', (rows) =>
    rows.map((row) => ({ name: row.querySelector('a').textContent, href: row.querySelector('a').getAttribute('href'), runs: row.lastElementChild.textContent })),
  );
  for (const name of SIMULATED) {
    const row = rows.find((r) => r.name === name);
    assert.ok(row, `${name} listed: ${JSON.stringify(rows)}`);
    assert.equal(row.href, `/experiment/${name}`);
  }
  assert.ok(rows.some((r) => r.runs.startsWith('running since')), `at least one running: ${JSON.stringify(rows)}`);
  assert.deepEqual(unexpectedProblems(problems), []);
  await page.close();
});

for (const width of [1280, 375]) {
  test(`at ${width} px the harmful experiment's page shows both groups, the effect band and the alert's figures`, async () => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const problems = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    await page.goto(`${vigil.url}/experiment/feed-ranking-v2`);
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="comparison"]', { timeout: 60_000 });
    const figures = await page.evaluate((pointsInSource) => {
      const pointsIn = new Function(`return ${pointsInSource}`)();
      const section = document.querySelector('[data-testid="experiment-metric"][data-metric="feed_ctr"]');
      const groups = section.querySelector('[data-testid="group-chart"]');
      const effect = section.querySelector('[data-testid="effect-chart"]');
      const comparison = section.querySelector('[data-testid="comparison"]');
      return {
        groupLines: groups.querySelectorAll('polyline.exp-line').length,
        controlLines: groups.querySelectorAll('polyline.exp-line.control').length,
        groupPoints: pointsIn(groups, 'polyline.exp-line'),
        legend: groups.querySelector('.legend').textContent,
        band: effect.querySelector('polygon.exp-band')?.getAttribute('points').split(' ').length ?? 0,
        effectPoints: pointsIn(effect, 'polyline.exp-effect'),
        zero: effect.querySelectorAll('polyline.exp-zero').length,
        yTicks: [...effect.querySelectorAll('.exp-y .tick')].map((t) => t.textContent),
        // Where the zero line is drawn and where its "0%" label sits, in page pixels.
        zeroLineY: ((r) => r.top + r.height / 2)(effect.querySelector('polyline.exp-zero').getBoundingClientRect()),
        zeroTickY: ((t) => t && ((r) => r.top + r.height / 2)(t.getBoundingClientRect()))(
          [...effect.querySelectorAll('.exp-y .tick')].find((t) => t.textContent === '0%'),
        ),
        // The newest effect as the chart draws it, read back through its own y labels.
        newestDrawn: (() => {
          const svg = effect.querySelector('svg');
          const lines = [...effect.querySelectorAll('polyline.exp-effect')];
          const [x, y] = lines.at(-1).getAttribute('points').trim().split(' ').at(-1).split(',').map(Number);
          const at = Object.assign(svg.createSVGPoint(), { x, y }).matrixTransform(svg.getScreenCTM()).y;
          const ticks = [...effect.querySelectorAll('.exp-y .tick')].map((t) => {
            const r = t.getBoundingClientRect();
            return { value: Number(t.textContent.replace('−', '-').replace('%', '')), y: r.top + r.height / 2 };
          });
          const [a, b] = [ticks[0], ticks.at(-1)];
          return a.value + ((at - a.y) * (b.value - a.value)) / (b.y - a.y);
        })(),
        // Each time label against the strip it is clipped to.
        xTicksCut: [...document.querySelectorAll('[data-testid="experiment-metric"] .exp-x')].flatMap((strip) => {
          const box = strip.getBoundingClientRect();
          return [...strip.querySelectorAll('.tick')]
            .filter((t) => { const r = t.getBoundingClientRect(); return r.left < box.left - 1 || r.right > box.right + 1; })
            .map((t) => t.textContent);
        }),
        verdict: comparison.dataset.verdict,
        sentence: comparison.querySelector('[data-testid="experiment-sentence"]').textContent,
        users: document.querySelector('[data-testid="experiment-users"]').textContent,
        scrollWidth: document.documentElement.scrollWidth,
        svgWidth: groups.querySelector('svg').getBoundingClientRect().width,
      };
    }, pointsIn.toString());
    assert.equal(figures.groupLines, 2, JSON.stringify(figures));
    assert.equal(figures.controlLines, 1, 'control drawn dashed');
    assert.ok(figures.groupPoints >= 2 * 16, `groups' series: ${figures.groupPoints} points`);
    assert.match(figures.legend, /group 1 \(control\).*group 2/);
    assert.ok(figures.band >= 2 * 16, `confidence band: ${figures.band} corners`);
    assert.ok(figures.effectPoints >= 16, `effect line: ${figures.effectPoints} points`);
    assert.equal(figures.zero, 1, 'zero marked');
    assert.ok(figures.yTicks.some((t) => /^[−-]\d+%$/.test(t)), `effect axis in percent: ${figures.yTicks}`);
    // The labels sit on the lines they name (they drifted by the plot's vertical stretch).
    assert.ok(figures.zeroTickY !== undefined, `a 0% tick: ${figures.yTicks}`);
    assert.ok(Math.abs(figures.zeroLineY - figures.zeroTickY) <= 2, `zero line at ${figures.zeroLineY}, its label at ${figures.zeroTickY}`);
    assert.deepEqual(figures.xTicksCut, [], 'no time label cut by the plot edge');
    // The simulator lowers CTR in group 2 by 15%: the page says what the alert says.
    assert.equal(figures.verdict, 'diverged');
    const effect = figures.sentence.match(/in group 2 is (\d+\.\d)% below group 1 \(95% CI (\d+\.\d) to (\d+\.\d)%\) since /);
    assert.ok(effect, figures.sentence);
    const [estimate, low, high] = effect.slice(1).map(Number);
    assert.ok(low < estimate && estimate < high && low > 0, figures.sentence);
    assert.ok(estimate >= 10 && estimate <= 22, `a true -15%: ${figures.sentence}`);
    assert.ok(Math.abs(figures.newestDrawn + estimate) <= 1.5, `the chart ends at ${figures.newestDrawn}%, the sentence says -${estimate}%`);
    assert.match(figures.sentence, /Always-valid p = (\d\.\d{3}|\d\.\de-\d+)\.$/);
    assert.match(figures.users, /^Users: group 1 \d+ \(split: \d+\), group 2 \d+ \(split: \d+\)\.$/);
    assert.ok(figures.scrollWidth <= width, `page is ${figures.scrollWidth}px wide at ${width}`);
    assert.ok(figures.svgWidth > width * 0.5, `chart uses the width: ${figures.svgWidth}`);
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('the A/A pair is inconclusive and the broken assignment says the comparison is invalid', async () => {
  const aa = await (await fetch(`${vigil.url}/experiment/aa-check`)).text();
  assert.match(aa, /data-verdict="inconclusive"/);
  assert.doesNotMatch(aa, /data-verdict="diverged"/);
  const srm = await (await fetch(`${vigil.url}/experiment/onboarding-v3`)).text();
  assert.match(srm, /Sample ratio mismatch: users per group do not match the configured split/);
});

test('the server draws the charts before any script runs; an unknown experiment is a 404 naming those there are', async () => {
  const html = await (await fetch(`${vigil.url}/experiment/feed-ranking-v2`)).text();
  assert.match(html, /<polygon points="[\d.]+,[\d.]+ [^"]*" class="exp-band"/);
  assert.match(html, /<polyline points="[\d.]+,[\d.]+ [\d.]+,[\d.]+[^"]*"[^>]*class="exp-line series-0 control"/);
  const missing = await fetch(`${vigil.url}/experiment/no-such-thing`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /no experiment (&quot;|&#34;|")no-such-thing(&quot;|&#34;|"): the checks compare .*feed-ranking-v2/);
});

for (const width of [1280, 375]) {
  test(`at ${width} px the harmful experiment's checks replay to an alert with its effect, and a huge minimum effect to nothing`, async () => {
    const { page, problems } = await openPage(browser, `${vigil.url}/experiment/feed-ranking-v2`, { width, height: 900 });
    const replay = page.getByTestId('experiment-replay');
    await replay.getByRole('heading', { name: 'Replay the checks' }).waitFor();
    // The form starts from the experiment's own rules.
    assert.equal(await replay.getByTestId('replay-alpha').inputValue(), '0.05');
    assert.equal(await replay.getByTestId('replay-min-effect').inputValue(), '0.05');
    const opened = replay.locator('[data-testid="replay-notification"][data-kind="opened"]', { hasText: 'group 2' });
    await opened.first().waitFor({ timeout: 60_000 });
    // The alert's own sentence: CTR in group 2 about 15% below group 1.
    const text = await opened.first().textContent();
    assert.match(text, / · alert · Feed CTR \(likes \/ views\) in group 2 is (\d+\.\d)% below group 1 \(95% CI [\d.]+ to [\d.]+%\) since /, text);
    assert.match(await replay.getByTestId('replay-summary').textContent(), /^Checks of .+ to .+ with alpha 0\.05, minimum effect 5%: \d+ notifications?\.$/);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= width, `page is ${wide}px wide at ${width}`);

    // The what-if: an effect of 500% is never reached, so nothing is sent; the rules go in the URL.
    await replay.getByTestId('replay-min-effect').fill('5');
    await replay.getByTestId('replay-run').click();
    await page.waitForURL(/min_effect=5(&|$)/, { timeout: 60_000 });
    const empty = page.getByTestId('replay-empty');
    await empty.waitFor({ timeout: 60_000 });
    assert.match(await empty.textContent(), /^Checks of .+ with alpha 0\.05, minimum effect 500%: nothing would have been sent\.$/);
    assert.equal(await page.getByTestId('replay-notification').count(), 0);
    assert.equal(await page.getByTestId('replay-min-effect').inputValue(), '5');
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.close();
  });
}

test('replay rules the page cannot use are ignored aloud with a 400, and the server function refuses them', async () => {
  const response = await fetch(`${vigil.url}/experiment/feed-ranking-v2?days=30&alpha=2`);
  assert.equal(response.status, 400);
  const html = await response.text();
  assert.match(html, /ignored: days 30: expected 1 to 7/);
  assert.match(html, /ignored: alpha 2: expected a level strictly between 0 and 1/);
  const call = (body) => fetch(`${vigil.url}/api/replay_experiment_checks`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  const refused = await call('name=feed-ranking-v2&rules[days]=8');
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /days 8: expected 1 to 7/);
  const replayed = await call('name=feed-ranking-v2&rules[days]=1&rules[min_effect]=0.05');
  assert.equal(replayed.status, 200);
  const body = await replayed.json();
  assert.ok(body.notifications.some((n) => n.notify.kind === 'opened' && n.arm === 'group 2'), JSON.stringify(body));
});
