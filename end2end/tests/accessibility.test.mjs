// Issue 20, findings 7 and 8: every page, with and without data, at 1280 and
// 375 px, checked by axe-core (from npm, injected into the page) with no
// serious or critical violation, text contrast included; every focus ring at
// least 3:1 against what surrounds it; a title of its own per page; and the
// error pages linking to what exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { openPage, unexpectedProblems } from './support/browser.mjs';
import { PAGES, WIDTHS, startTourServers } from './support/pages.mjs';
import { withVigilAndBrowser } from './support/suite.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/// WCAG 2.2 non-text contrast (1.4.11): a focus indicator against its surroundings.
const FOCUS_RING_RATIO = 3;

let servers;
let browser;

withVigilAndBrowser(startTourServers, (started) => ({ vigil: servers, browser } = started));

/// axe's serious and critical violations, one readable line per element.
async function seriousViolations(page) {
  // Evaluated through the DevTools protocol: the page's CSP refuses inline scripts.
  await page.evaluate(AXE);
  const violations = await page.evaluate(
    async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations,
  );
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) =>
      v.nodes.map((n) => `${v.id} (${v.impact}, ${v.help}): ${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`),
    );
}

/// Focuses one element of each kind (tag, classes, in the top bar or not)
/// after a key press, as a keyboard user meets them, and measures its focus
/// ring against the background it is drawn on: the parent's for a ring
/// outside the element, the element's own for one drawn inside.
async function focusRings(page) {
  await page.keyboard.press('Tab');
  return page.evaluate(() => {
    const parse = (css) => {
      const m = css.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const luminance = ({ r, g, b }) => {
      const lin = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const ratio = (x, y) => {
      const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
      return (hi + 0.05) / (lo + 0.05);
    };
    const background = (element) => {
      for (let e = element; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a >= 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const seen = new Set();
    const rings = [];
    const focusable = document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]');
    for (const element of focusable) {
      if (element.disabled || element.tabIndex < 0 || element.getClientRects().length === 0) continue;
      const classes = typeof element.className === 'string' ? element.className.trim().split(/\s+/).join('.') : '';
      const kind = `${element.tagName.toLowerCase()}${classes ? `.${classes}` : ''}${element.type ? `[${element.type}]` : ''}${element.closest('.topbar') ? ' in the top bar' : ''}`;
      if (seen.has(kind)) continue;
      seen.add(kind);
      element.focus();
      if (document.activeElement !== element) continue;
      const style = getComputedStyle(element);
      const ring = parse(style.outlineColor);
      const behind = parseFloat(style.outlineOffset) < 0 ? background(element) : background(element.parentElement);
      rings.push({
        kind,
        style: style.outlineStyle,
        width: parseFloat(style.outlineWidth),
        color: style.outlineColor,
        behind: `rgb(${behind.r}, ${behind.g}, ${behind.b})`,
        ratio: ring && ring.a > 0 ? Math.round(ratio(ring, behind) * 100) / 100 : 0,
      });
    }
    return rings;
  });
}

for (const width of WIDTHS) {
  for (const spec of PAGES) {
    test(`${spec.name} (${spec.path}) at ${width} px: no serious axe violation, visible focus rings, its own title`, async () => {
      const server = servers[spec.server];
      const { page, problems } = await openPage(browser, `${server.url}${spec.path}`, { width, height: 900 });
      if (spec.prepare) await spec.prepare(page);

      const violations = await seriousViolations(page);
      assert.deepEqual(violations, [], `axe on ${spec.path} at ${width} px:\n${violations.join('\n')}`);

      const rings = await focusRings(page);
      assert.ok(rings.length >= 2, `focusable kinds on ${spec.path}: ${JSON.stringify(rings)}`);
      const faint = rings.filter((r) => r.style === 'none' || r.width < 2 || r.ratio < FOCUS_RING_RATIO);
      assert.deepEqual(faint, [], `focus rings under ${FOCUS_RING_RATIO}:1 or missing on ${spec.path}`);

      // A title that names the page, not just the site.
      assert.match(await page.title(), /^.+ · vigil$/, `title of ${spec.path}`);
      assert.deepEqual(unexpectedProblems(problems), []);
      await page.close();
    });
  }
}

test('each page has a title of its own', async () => {
  const titles = new Map();
  for (const spec of PAGES.filter((p) => p.server === 'data')) {
    const html = await (await fetch(`${servers.data.url}${spec.path}`)).text();
    titles.set(spec.name, html.match(/<title>([^<]*)<\/title>/)?.[1]);
  }
  const distinct = new Set(titles.values());
  // The two error pages may share one; the others differ from each other.
  assert.ok(distinct.size >= titles.size - 1, `titles: ${JSON.stringify([...titles])}`);
  for (const [name, title] of titles) assert.match(title ?? '', /^.+ · vigil$/, `${name}: ${title}`);
});

for (const path of ['/no/such/page', '/metric/does_not_exist']) {
  test(`${path} answers 404 and links to the pages and metrics that exist`, async () => {
    const response = await fetch(`${servers.data.url}${path}`);
    assert.equal(response.status, 404);
    const { page } = await openPage(browser, `${servers.data.url}${path}`, { width: 375, height: 800 });
    const links = await page.$$eval('[data-testid="metric-links"] a', (as) => as.map((a) => a.getAttribute('href')));
    assert.ok(links.includes('/metric/feed_views'), `metric links: ${links}`);
    for (const href of links) {
      const target = await fetch(`${servers.data.url}${href}`);
      assert.equal(target.status, 200, `${href} from ${path}`);
    }
    if (path === '/no/such/page') {
      assert.equal(await page.locator('main a[href="/alerts"]').count() >= 1, true);
    }
    await page.close();
  });
}
