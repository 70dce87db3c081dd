/**
 * The browser example (examples/browser/) in headless Chromium from Debian's `chromium` package: the page
 * loads the library's ESM build and tfjs through its import map, trains on WebGL (SwiftShader, Chromium's
 * software GPU, in a headless run) and on wasm (its .wasm binaries served by the page's server), falls
 * back to the CPU backend without WebGL, and writes the result into the DOM, which `--dump-dom` returns.
 *
 * The ESM build is made by the project's tsup config into a private temporary directory and served at
 * /dist/: the packaging test rebuilds dist/ (tsup cleans it first) and may run at the same time.
 * Skipped, with a note, when /usr/bin/chromium is absent (`apt-get install chromium`).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser example test skipped: ${CHROMIUM} not found (install Debian's chromium package: apt-get install -y chromium)`);

const ROOT = resolve(__dirname, '..', '..');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.css': 'text/css',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  // Served as bytes (no Content-Encoding): the page gunzips the IDX files itself.
  '.gz': 'application/octet-stream',
};

/** Makes every canvas refuse WebGL contexts ('webgl2', 'webgl', 'experimental-webgl'), as a browser without WebGL does. */
const NO_WEBGL = [
  'for (const C of [self.HTMLCanvasElement, self.OffscreenCanvas]) {',
  '  if (!C) continue;',
  '  const get = C.prototype.getContext;',
  "  C.prototype.getContext = function (type, ...rest) { return String(type).includes('webgl') ? null : get.call(this, type, ...rest); };",
  '}',
].join('\n');

let work = '';
let server: Server | undefined;
let origin = '';
/** URL paths the server answered, to see which files the page really fetched. */
const served: string[] = [];

/** Maps a URL path to a file: /dist/* from the private build, everything else from the repository. */
function fileFor(urlPath: string, distDir: string): string | null {
  const path = decodeURIComponent(urlPath.split('?')[0] ?? '/');
  const [base, rel] = path.startsWith('/dist/') ? [distDir, path.slice('/dist/'.length)] : [ROOT, path.slice(1)];
  let file = normalize(join(base, rel));
  if (file !== base && !file.startsWith(base + sep)) return null; // no escaping the served roots
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  return existsSync(file) ? file : null;
}

beforeAll(async () => {
  if (!hasChromium) return;
  work = mkdtempSync(join(tmpdir(), 'longtail-browser-'));
  const distDir = join(work, 'dist');
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsup'), ['--format', 'esm', '--no-dts', '--out-dir', distDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = createServer((req, res) => {
    const file = fileFor(req.url ?? '/', distDir);
    if (file === null) {
      res.writeHead(404).end('not found');
      return;
    }
    served.push(decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/'));
    let body = readFileSync(file);
    // ?simulate=no-webgl: the test removes WebGL from the page (Chromium's --disable-webgl leaves
    // OffscreenCanvas contexts, which tfjs uses, working) to check the page's CPU fallback.
    if ((req.url ?? '').includes('simulate=no-webgl') && file.endsWith('.html')) {
      body = Buffer.from(body.toString('utf8').replace('<head>', `<head><script>${NO_WEBGL}</script>`));
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(body);
  });
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  if (server) await new Promise<void>((done) => server?.close(() => done()));
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Loads `url` in headless Chromium and returns the DOM after the page's work (virtual time) is done. */
function dumpDom(url: string, extraFlags: readonly string[] = []): Promise<{ dom: string; stderr: string }> {
  const profile = join(work, `profile-${Date.now()}`);
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    '--virtual-time-budget=120000',
    ...extraFlags,
    '--dump-dom',
    url,
  ];
  return new Promise((done, fail) => {
    execFile(CHROMIUM, flags, { timeout: 110_000, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      if (error !== null && stdout.length === 0) fail(new Error(`chromium failed: ${error.message}\n${stderr.slice(-2000)}`));
      else done({ dom: stdout, stderr });
    });
  });
}

const field = (dom: string, id: string): string | undefined => dom.match(new RegExp(`id="${id}">([^<]*)<`))?.[1];

/** WebGL on SwiftShader, Chromium's software renderer (recent Chromium needs the "unsafe" opt-in for WebGL on it). */
const SWIFTSHADER = ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'];

/** Runs the page on `backend` and checks that it trained there (no fallback) and reported its accuracy. */
async function trainsOn(backend: 'webgl' | 'wasm', flags: readonly string[]): Promise<number> {
  const { dom, stderr } = await dumpDom(`${origin}/examples/browser/index.html?backend=${backend}&epochs=3`, flags);
  const status = dom.match(/<body[^>]*data-status="([a-z]+)"/)?.[1];
  expect(status, `page status: ${field(dom, 'status')}\n${stderr.slice(-1500)}`).toBe('done');
  expect(dom.match(/<body[^>]*data-backend="([a-z]+)"/)?.[1], field(dom, 'backend')).toBe(backend);
  expect(field(dom, 'backend')).toBe(backend); // no "(fallback: ...)" note
  const balanced = Number(field(dom, 'balanced')?.replace('%', '')) / 100;
  expect(balanced).toBeGreaterThan(0.4); // ten balanced classes: chance is 10%
  expect(field(dom, 'report')).toMatch(new RegExp(`^MLP \\+ logit-adjusted loss on ${backend}\\ntop-1 \\d+\\.\\d+% {3}balanced`));
  expect(field(dom, 'status')).toBe('done; 0 tensors alive');
  return balanced;
}

describe('examples/browser (headless Chromium)', () => {
  it.skipIf(!hasChromium)('trains on WebGL and writes the result into the page', async () => {
    const balanced = await trainsOn('webgl', SWIFTSHADER);
    console.log(`browser example on webgl: balanced accuracy ${(100 * balanced).toFixed(2)}%`);
  }, 120_000); // software WebGL: slow on a busy machine

  it.skipIf(!hasChromium)('trains on wasm, with the .wasm binaries served next to the page', async () => {
    served.length = 0;
    const balanced = await trainsOn('wasm', []);
    console.log(`browser example on wasm: balanced accuracy ${(100 * balanced).toFixed(2)}%`);
    // The page fetched one of the package's binaries (which one depends on SIMD/threads support).
    expect(served.filter((p) => p.endsWith('.wasm'))).toEqual([expect.stringMatching(/^\/node_modules\/@tensorflow\/tfjs-backend-wasm\/dist\/tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm$/)]);
  }, 120_000);

  it.skipIf(!hasChromium)('falls back to the CPU backend and says so when WebGL is unavailable', async () => {
    const { dom } = await dumpDom(`${origin}/examples/browser/index.html?epochs=1&simulate=no-webgl`);
    expect(dom, field(dom, 'status')).toMatch(/<body[^>]*data-status="done"/);
    expect(dom).toMatch(/<body[^>]*data-backend="cpu"/);
    console.log(`without WebGL the page says: ${field(dom, 'backend')}`);
    expect(field(dom, 'backend')).toMatch(/^cpu \(fallback: webgl unavailable — ./);
    expect(Number(field(dom, 'balanced')?.replace('%', ''))).toBeGreaterThan(30);
  }, 60_000);

  it.skipIf(!hasChromium)('serves nothing outside the repository and the build', () => {
    expect(fileFor('/../../etc/passwd', join(work, 'dist'))).toBeNull();
    expect(fileFor('/dist/../../etc/passwd', join(work, 'dist'))).toBeNull();
    expect(fileFor('/examples/browser/', join(work, 'dist'))).toBe(join(ROOT, 'examples', 'browser', 'index.html'));
  });
});
