// A first visit: the bundle travels compressed and is cached under names that
// change with its content; every page has its own title; an address that names
// nothing answers 404 with links to what exists; until the wasm has hydrated,
// the controls are disabled and the page says it is loading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startVigil } from './support/server.mjs';
import { openPage, unexpectedProblems } from './support/browser.mjs';
import { bundleUrls, getRaw } from './support/bundle.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

let vigil;
let browser;

withVigilAndBrowser(() => startVigil(), (started) => ({ vigil, browser } = started));

const METRICS = ['feed_active_users', 'feed_views', 'feed_likes', 'feed_ctr', 'messenger_active_users', 'messages_sent'];

test('the wasm, JS and CSS travel as brotli or gzip, as asked, cached a year under content-hashed names', async () => {
  const html = await (await fetch(`${vigil.url}/`)).text();
  const urls = bundleUrls(html);
  for (const [kind, url] of Object.entries(urls)) {
    assert.match(url, new RegExp(`^/pkg/vigil\\.[A-Za-z0-9_-]{8,}\\.${kind}$`), `${kind} is not named by a hash`);
    const plain = await getRaw(`${vigil.url}${url}`, 'identity');
    assert.equal(plain.status, 200, `${url} identity`);
    assert.equal(plain.headers['content-encoding'], undefined, `${url} sent encoded though identity was asked`);
    assert.ok(plain.body.length > 1000, `${url} is ${plain.body.length} bytes`);

    const br = await getRaw(`${vigil.url}${url}`, 'gzip, deflate, br');
    assert.equal(br.headers['content-encoding'], 'br', `${url} with br accepted`);
    assert.ok(brotliDecompressSync(br.body).equals(plain.body), `${url}: the brotli body is not the file`);
    const gz = await getRaw(`${vigil.url}${url}`, 'gzip');
    assert.equal(gz.headers['content-encoding'], 'gzip', `${url} with only gzip accepted`);
    assert.ok(gunzipSync(gz.body).equals(plain.body), `${url}: the gzip body is not the file`);
    if (kind !== 'css') {
      assert.ok(br.body.length < plain.body.length / 2, `${url}: brotli ${br.body.length} of ${plain.body.length}`);
    }
    assert.ok(br.body.length <= gz.body.length, `${url}: brotli ${br.body.length} > gzip ${gz.body.length}`);

    for (const response of [plain, br, gz]) {
      const cache = response.headers['cache-control'] ?? '';
      assert.match(cache, /max-age=31536000/, `${url}: Cache-Control ${cache}`);
      assert.match(cache, /immutable/, `${url}: Cache-Control ${cache}`);
      assert.match(response.headers.vary ?? '', /accept-encoding/i, `${url}: Vary`);
    }
  }
  // The page itself is never cached as immutable: it names the bundle.
  const page = await fetch(`${vigil.url}/`);
  assert.doesNotMatch(page.headers.get('cache-control') ?? '', /immutable/);
  // A bundle file that does not exist is a plain 404, not a page.
  const missing = await getRaw(`${vigil.url}/pkg/vigil.nothing.wasm`, 'br');
  assert.equal(missing.status, 404);
});

test('each page has its own title, on the server and after navigating in the browser', async () => {
  const expected = {
    '/': 'Metrics · vigil',
    '/alerts': 'Alerts · vigil',
    '/metric/feed_views': 'Feed views · vigil',
    '/metric/feed_ctr': 'Feed CTR (likes / views) · vigil',
    '/no/such/page': 'Page not found · vigil',
  };
  for (const [path, title] of Object.entries(expected)) {
    const html = await (await fetch(`${vigil.url}${path}`)).text();
    // The head's title (an SVG in the body has its own).
    const head = html.slice(0, html.indexOf('</head>'));
    const titles = [...head.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);
    assert.deepEqual(titles, [title], `server-rendered <title> of ${path}`);
  }

  const { page, problems } = await openPage(browser, `${vigil.url}/`);
  assert.equal(await page.title(), expected['/']);
  await page.click('nav a[href="/alerts"]');
  await page.waitForFunction((t) => document.title === t, expected['/alerts'], { timeout: 10_000 });
  await page.click('a.brand');
  await page.waitForFunction((t) => document.title === t, expected['/'], { timeout: 10_000 });
  await page.click('[data-metric="feed_ctr"] h2 a');
  await page.waitForFunction((t) => document.title === t, expected['/metric/feed_ctr'], { timeout: 10_000 });
  assert.deepEqual(unexpectedProblems(problems), []);
  await page.close();
});

test('/metric/does_not_exist answers 404 and links to every real metric', async () => {
  const response = await fetch(`${vigil.url}/metric/does_not_exist`);
  assert.equal(response.status, 404);

  const { page, problems } = await openPage(browser, `${vigil.url}/metric/does_not_exist`);
  assert.match(await page.textContent('[role="alert"]'), /unknown metric "does_not_exist"/);
  await page.waitForSelector('[data-testid="metric-links"] a');
  const links = await page.$$eval('[data-testid="metric-links"] a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual([...links].sort(), METRICS.map((m) => `/metric/${m}`).sort());
  for (const href of links) {
    assert.equal((await fetch(`${vigil.url}${href}`)).status, 200, `${href} is linked but does not answer`);
  }
  // The links work in the page: one leads to that metric's lab.
  await page.click('[data-testid="metric-links"] a[href="/metric/feed_likes"]');
  await page.waitForSelector('.metric-page .subtitle code', { timeout: 30_000 });
  assert.equal((await page.textContent('.metric-page .subtitle code')).trim(), 'feed_likes');
  assert.deepEqual(unexpectedProblems(problems), []);
  await page.close();
});

test('an address no page lives at answers 404 with links to the pages and the metrics', async () => {
  const response = await fetch(`${vigil.url}/no/such/page`);
  assert.equal(response.status, 404);
  const { page } = await openPage(browser, `${vigil.url}/no/such/page`);
  const section = '[data-testid="not-found"]';
  assert.match(await page.textContent(`${section} h1`), /Page not found/);
  const links = await page.$$eval(`${section} a`, (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(links.includes('/') && links.includes('/alerts'), JSON.stringify(links));
  await page.waitForSelector(`${section} [data-testid="metric-links"] a`);
  const metricLinks = await page.$$eval(`${section} [data-testid="metric-links"] a`, (as) => as.length);
  assert.equal(metricLinks, METRICS.length);
  await page.close();
});

for (const width of [1280, 375]) {
  test(`at ${width} px the controls are disabled, and the page says it is loading, until the wasm has hydrated`, async () => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    // Hold the wasm until the server-rendered page has been looked at.
    let release;
    const held = new Promise((resolve) => {
      release = resolve;
    });
    let wasmRequests = 0;
    await page.route(/\.wasm$/, async (route) => {
      wasmRequests += 1;
      await held;
      await route.continue();
    });
    await page.goto(`${vigil.url}/metric/feed_views?detector=iqr`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#detector', { state: 'attached', timeout: 30_000 });
    for (let waited = 0; wasmRequests === 0 && waited < 30_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }

    const controls = ['#detector', '#param-a', '[data-testid="heatmap-run"]'];
    for (const selector of controls) {
      assert.equal(await page.$eval(selector, (el) => el.matches(':disabled')), true, `${selector} enabled before hydration`);
    }
    assert.equal(await page.isVisible('[data-testid="hydrating"]'), true, 'no loading note before hydration');
    assert.match(await page.textContent('[data-testid="hydrating"]'), /Loading/);
    assert.equal(await page.getAttribute('body', 'data-hydrated'), null);
    // A pick now cannot happen (and so cannot be lost).
    await assert.rejects(page.selectOption('#detector', 'seasonal', { timeout: 500 }));
    assert.ok(wasmRequests > 0, 'the page never asked for the wasm');

    release();
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
    for (const selector of controls) {
      assert.equal(await page.$eval(selector, (el) => el.matches(':disabled')), false, `${selector} still disabled after hydration`);
    }
    assert.equal(await page.$('[data-testid="hydrating"]'), null, 'the loading note stays after hydration');
    const interactive = await page.evaluate(() => performance.getEntriesByName('interactive').length);
    assert.equal(interactive, 1);

    // And now a pick sticks.
    await page.selectOption('#detector', 'seasonal');
    await page.waitForTimeout(300);
    assert.equal(await page.$eval('#detector', (el) => el.value), 'seasonal');
    await page.close();
  });
}
