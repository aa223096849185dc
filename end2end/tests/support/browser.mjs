// Debian's chromium driven by playwright-core: nothing is downloaded.
import { chromium } from 'playwright-core';

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/// Opens a page and fails the test on any uncaught error or console error in it.
/// `viewport` defaults to a laptop's 1280 x 900.
export async function openPage(browser, url, viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage({ viewport });
  const problems = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
  return { page, problems };
}

/// Count of canvas pixels that are not white, and a cheap fingerprint of the image.
export async function canvasStats(page, selector) {
  return page.$eval(selector, (canvas) => {
    const { width, height } = canvas;
    const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    let inked = 0;
    let hash = 2166136261;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250) inked += 1;
      hash = Math.imul(hash ^ (data[i] + 3 * data[i + 1] + 7 * data[i + 2]), 16777619) >>> 0;
    }
    return { inked, total: width * height, hash };
  });
}

/// The problems left once refused requests are set aside: the browser logs a
/// server function answered 400/401/403/404 (a refused request, which the page
/// then explains) as a failed resource. Anything else is a real problem.
export function unexpectedProblems(problems) {
  return problems.filter((p) => !/the server responded with a status of 40[0134]\b/.test(p));
}

/// Where `locator` is once it is on screen and laid out. Playwright's
/// `boundingBox()` is null while a re-render swaps the element (typing the
/// operator token re-renders the alert rows), so this asks again for up to 5 s.
/// `scroll: false` measures it where it is (beside a control measured before).
export async function settledBox(locator, { scroll = true } = {}) {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if (scroll) await locator.scrollIntoViewIfNeeded();
    const box = await locator.boundingBox();
    if (box) return box;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${locator} has no box after 5 s`);
}

/// Distance in CSS pixels between two boxes (0 when they touch or overlap):
/// how far an answer appears from the control that asked for it.
export function gap(a, b) {
  const dx = Math.max(0, a.x - (b.x + b.width), b.x - (a.x + a.width));
  const dy = Math.max(0, a.y - (b.y + b.height), b.y - (a.y + a.height));
  return Math.hypot(dx, dy);
}
