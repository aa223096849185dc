// A first visit over a 10 Mbit/s line, measured in Chromium (playwright-core
// with Debian's chromium) against a real `vigil serve`:
//   - the bundle's bytes on the wire: wasm, JS and CSS as brotli, gzip and
//     uncompressed, as the server answers each Accept-Encoding;
//   - time to interactive of /metric/feed_views: from the navigation to the
//     page's `interactive` mark (the controls enabled), with the network
//     throttled by CDP (Network.emulateNetworkConditions) and the cache off;
//     the median of RUNS fresh visits, and the first paint next to it.
// Prints the figures with the budget next to each; exits 1 when one is over.
import { startVigil } from '../tests/support/server.mjs';
import { launchBrowser } from '../tests/support/browser.mjs';
import { bundleUrls, getRaw } from '../tests/support/bundle.mjs';

const MBIT = 1_000_000 / 8; // bytes per second
const LINE = { mbit: 10, latencyMs: 40 };
const RUNS = 5;
const PAGE = '/metric/feed_views';
const BUDGET = { interactiveMs: 1500, wasmBrotliBytes: 1024 * 1024, bundleBrotliBytes: 1.2 * 1024 * 1024 };

const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/// One fresh visit over the throttled line: [first contentful paint ms,
/// interactive ms, wasm bytes received]. `headers` go with every request
/// (Accept-Encoding: identity replays the uncompressed bundle).
async function visit(browser, url, headers = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: LINE.latencyMs,
    downloadThroughput: LINE.mbit * MBIT,
    uploadThroughput: LINE.mbit * MBIT,
  });
  await cdp.send('Network.setExtraHTTPHeaders', { headers });
  await page.goto(url);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 120_000 });
  const result = await page.evaluate(() => [
    performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
    performance.getEntriesByName('interactive')[0].startTime,
    performance
      .getEntriesByType('resource')
      .filter((r) => r.name.endsWith('.wasm'))
      .reduce((max, r) => Math.max(max, r.encodedBodySize), 0),
  ]);
  await context.close();
  return result;
}

const vigil = await startVigil();
const browser = await launchBrowser();
const over = [];
try {
  const urls = bundleUrls(await (await fetch(`${vigil.url}${PAGE}`)).text());
  const totals = { br: 0, gzip: 0, identity: 0 };
  console.log('bundle on the wire (bytes the server sends for each Accept-Encoding):');
  for (const [kind, url] of Object.entries(urls)) {
    const sizes = {};
    for (const encoding of Object.keys(totals)) {
      const response = await getRaw(`${vigil.url}${url}`, encoding);
      const sent = response.headers['content-encoding'] ?? 'identity';
      if (sent !== encoding) throw new Error(`${url}: asked for ${encoding}, got ${sent}`);
      sizes[encoding] = response.body.length;
      totals[encoding] += response.body.length;
    }
    console.log(
      `  ${kind.padEnd(4)} ${url}: brotli ${kib(sizes.br)}, gzip ${kib(sizes.gzip)}, uncompressed ${kib(sizes.identity)}`,
    );
    if (kind === 'wasm' && sizes.br > BUDGET.wasmBrotliBytes) over.push('wasm brotli size');
  }
  console.log(
    `  all three: brotli ${kib(totals.br)}, gzip ${kib(totals.gzip)}, uncompressed ${kib(totals.identity)} (budget: wasm ${kib(BUDGET.wasmBrotliBytes)}, all ${kib(BUDGET.bundleBrotliBytes)} brotli)`,
  );
  if (totals.br > BUDGET.bundleBrotliBytes) over.push('bundle brotli size');

  const runs = [];
  for (let i = 0; i < RUNS; i += 1) runs.push(await visit(browser, `${vigil.url}${PAGE}`));
  const paint = median(runs.map((r) => r[0]));
  const interactive = median(runs.map((r) => r[1]));
  console.log(
    `${PAGE} at ${LINE.mbit} Mbit/s, ${LINE.latencyMs} ms latency, cold cache (median of ${RUNS}): ` +
      `first paint ${paint.toFixed(0)} ms, interactive ${interactive.toFixed(0)} ms ` +
      `(runs: ${runs.map((r) => r[1].toFixed(0)).join(', ')}; budget ${BUDGET.interactiveMs} ms)`,
  );
  if (interactive > BUDGET.interactiveMs) over.push('time to interactive');

  // For comparison (no budget): the bundle as it was served before, uncompressed.
  const plain = [];
  for (let i = 0; i < 3; i += 1) {
    plain.push(await visit(browser, `${vigil.url}${PAGE}`, { 'Accept-Encoding': 'identity' }));
  }
  console.log(
    `  the same with Accept-Encoding: identity (median of 3): first paint ${median(plain.map((r) => r[0])).toFixed(0)} ms, ` +
      `interactive ${median(plain.map((r) => r[1])).toFixed(0)} ms; wasm received ${kib(plain[0][2])} (compressed: ${kib(runs[0][2])})`,
  );
} finally {
  await browser.close();
  await vigil.stop();
}
if (over.length > 0) {
  console.error(`over budget: ${over.join(', ')}`);
  process.exit(1);
}
