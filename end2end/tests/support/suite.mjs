// The before/after that browser test files share: the file's vigil servers
// and one Chromium, started side by side before its tests and both closed
// after them (also when one of them failed to start).
import { before, after } from 'node:test';
import { launchBrowser } from './browser.mjs';

/// Registers the file's `before` and `after`. `start()` returns its server
/// (anything with `stop()`) or an object of servers; `ready({ vigil, browser })`
/// receives them before the first test.
export function withVigilAndBrowser(start, ready) {
  let vigil;
  let browser;
  before(async () => {
    const started = await Promise.allSettled([start(), launchBrowser()]);
    [vigil, browser] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    ready({ vigil, browser });
  });
  after(async () => {
    await Promise.all([browser?.close(), ...stopping(vigil)]);
  });
}

/// `stop()` of one server, or of each in an object of them.
function stopping(servers) {
  if (!servers) return [];
  if (typeof servers.stop === 'function') return [servers.stop()];
  return Object.values(servers).map((server) => server?.stop());
}
