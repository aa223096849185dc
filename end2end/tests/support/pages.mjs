// Every page of vigil, with and without data, for the checks that visit them
// all (tests/accessibility.test.mjs) and for the reviewer's screenshots
// (bench/screenshots.mjs). Two servers: one with the simulator's history and
// the alerts of a check at its feed outage, and one whose extra metric
// matches no event at all (its lab and its alert history are empty).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startVigil } from './server.mjs';

const run = promisify(execFile);

/// The widths every page is looked at: a laptop and a phone.
export const WIDTHS = [1280, 375];

/// The metric of the server without data: no event has this OS.
export const EMPTY_METRIC = 'nowhere_views';

/// The simulator's history, then a check at its feed outage (its second
/// bucket: by then the default learned detector has flagged it, alone when
/// its first bucket is sure, else confirmed by the second; past the grace
/// delay), before the server starts: its alerts are history.
export async function checkTheOutage(dataDir, bin) {
  const options = { env: { ...process.env, RUST_LOG: 'warn' }, timeout: 300_000, maxBuffer: 1 << 24 };
  const { stdout } = await run(bin, ['simulate', '--data-dir', dataDir], options);
  const line = stdout.split('\n').find((l) => /^incident \d+: outage feed_views /.test(l));
  if (!line) throw new Error(`the simulator injected no feed outage:\n${stdout}`);
  const start = Date.parse(`${line.split(' ').slice(4, 6).join('T')}Z`) / 1000;
  const at = new Date((start + 2 * 900 + 180) * 1000).toISOString().replace('T', ' ').slice(0, 19);
  await run(bin, ['check', '--data-dir', dataDir, '--at', at], options);
}

/// A server with the simulator's history and the alerts of its feed outage.
export function startWithAlerts() {
  return startVigil({ prepare: checkTheOutage });
}

/// A config with one metric no event matches, next to the built-in ones.
function emptyMetricConfig() {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-e2e-config-'));
  const file = path.join(dir, 'nowhere.toml');
  writeFileSync(
    file,
    `[[metrics]]\nname = "${EMPTY_METRIC}"\ntitle = "Views from nowhere"\ntable = "feed_actions"\n` +
      `aggregate = "count"\nfilters = { os = "Nowhere", action = "view" }\n`,
  );
  return { dir, file };
}

/// Both servers, started side by side; `stop()` ends both.
export async function startTourServers() {
  const config = emptyMetricConfig();
  const started = await Promise.allSettled([
    startWithAlerts(),
    startVigil({ extraArgs: ['--config', config.file] }),
  ]);
  const [data, empty] = started.map((s) => (s.status === 'fulfilled' ? s.value : null));
  const stop = async () => {
    await Promise.all([data?.stop(), empty?.stop()]);
    rmSync(config.dir, { recursive: true, force: true });
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { data, empty, stop };
}

/// The pages: `server` names which of the two, `prepare(page)` brings the page
/// to the state worth looking at (e.g. the heatmap computed).
export const PAGES = [
  { name: 'overview', server: 'data', path: '/' },
  // The lab as it opens (the live default, the learned detector), and on the
  // seed's IQR band with its parameter heatmap computed.
  { name: 'lab', server: 'data', path: '/metric/feed_views' },
  { name: 'lab-iqr', server: 'data', path: '/metric/feed_views?detector=iqr', prepare: computeHeatmap },
  { name: 'alerts', server: 'data', path: '/alerts' },
  { name: 'report', server: 'data', path: '/report' },
  { name: 'experiments', server: 'data', path: '/experiments' },
  { name: 'experiment', server: 'data', path: '/experiment/feed-ranking-v2' },
  { name: 'not-found', server: 'data', path: '/no/such/page' },
  { name: 'unknown-metric', server: 'data', path: '/metric/does_not_exist' },
  { name: 'overview-empty', server: 'empty', path: '/' },
  { name: 'lab-empty', server: 'empty', path: `/metric/${EMPTY_METRIC}` },
  { name: 'alerts-empty', server: 'empty', path: `/alerts?metric=${EMPTY_METRIC}` },
  { name: 'report-empty', server: 'empty', path: '/report' },
];

/// The lab with its parameter heatmap computed (its cells are part of the page).
export async function computeHeatmap(page) {
  await page.click('[data-testid="heatmap-run"]');
  await page.waitForFunction(
    () => /done in/.test(document.querySelector('[data-testid="heatmap-status"]')?.textContent ?? ''),
    null,
    { timeout: 60_000 },
  );
}
