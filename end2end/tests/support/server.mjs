// Starts a real `vigil serve` on a free loopback port with its own temporary data
// directory, and stops it afterwards. The binary and site come from `cargo leptos build`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..', '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vigil exited early with code ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`vigil did not answer ${url} within ${timeoutMs} ms`);
}

/// `prepare(dataDir, bin)` runs before the server starts, e.g. to fill the
/// data directory and run a check in the past.
export async function startVigil({ extraArgs = [], env = {}, prepare } = {}) {
  const bin = path.resolve(root, process.env.VIGIL_BIN ?? '../target/debug/vigil');
  const siteRoot = path.resolve(root, process.env.VIGIL_SITE_ROOT ?? '../target/site');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-e2e-'));
  if (prepare) await prepare(dataDir, bin);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = [];
  const child = spawn(
    bin,
    ['serve', '--addr', `127.0.0.1:${port}`, '--site-root', siteRoot, '--data-dir', dataDir, ...extraArgs],
    { env: { ...process.env, RUST_LOG: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (d) => log.push(d.toString()));
  child.stderr.on('data', (d) => log.push(d.toString()));
  try {
    await waitForHttp(`${url}/`, child, 120_000);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${error.message}\n--- vigil output ---\n${log.join('')}`);
  }
  return {
    url,
    log,
    // For tests that run another vigil command (e.g. `vigil check`) on the same state.
    bin,
    dataDir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
