// Screenshots of every page, with and without data, at 375 and 1280 px, so a
// reviewer can look at the UI without running it (`make screenshots`, part of
// `make bench`). Full-page PNGs named <page>-<width>.png in SCREENSHOT_DIR
// (default target/screenshots/ of the repository).
//
// VIGIL_BIN=../target/release/vigil VIGIL_SITE_ROOT=../target/site node bench/screenshots.mjs
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchBrowser, openPage } from '../tests/support/browser.mjs';
import { PAGES, WIDTHS, startTourServers } from '../tests/support/pages.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const out = path.resolve(here, '..', process.env.SCREENSHOT_DIR ?? '../target/screenshots');
mkdirSync(out, { recursive: true });

const servers = await startTourServers();
const browser = await launchBrowser();
let written = 0;
try {
  for (const spec of PAGES) {
    for (const width of WIDTHS) {
      const { page } = await openPage(browser, `${servers[spec.server].url}${spec.path}`, { width, height: 900 });
      if (spec.prepare) await spec.prepare(page);
      // The overview and the lab fill in after hydration; let them settle.
      await page.waitForLoadState('networkidle');
      const file = path.join(out, `${spec.name}-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      written += 1;
      await page.close();
    }
  }
} finally {
  await browser.close();
  await servers.stop();
}
console.log(`${written} screenshots (${PAGES.length} pages at ${WIDTHS.join(' and ')} px) in ${out}`);
