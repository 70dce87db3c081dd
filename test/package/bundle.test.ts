/**
 * Bundlers: the package's ESM build (what `import 'longtail'` resolves to) bundles for the browser with
 * esbuild, with no externals and no Node built-in shimmed by the user. Node-only code (file loaders,
 * gzip, paths) is loaded through one hidden dynamic import (src/core/node.ts), which a bundler leaves
 * alone; a literal `import('node:fs')` anywhere in the root entry fails this test.
 *
 * The ESM build is made by the project's tsup config into a private temporary directory (the packaging
 * test rebuilds dist/ and may run at the same time).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, type Message } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..', '..');
let work = '';

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'longtail-bundle-'));
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsup'), ['--format', 'esm', '--no-dts', '--no-sourcemap', '--out-dir', join(work, 'dist')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const describeMessages = (messages: readonly Message[]): string =>
  messages.map((m) => `${m.text} (${m.location?.file ?? '?'}:${m.location?.line ?? '?'})`).join('\n');

async function bundle(entryCode: string, name: string): Promise<{ errors: Message[]; inputs: string[]; code: string }> {
  const entry = join(work, `${name}.js`);
  writeFileSync(entry, entryCode);
  const outfile = join(work, `${name}.bundle.js`);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    outfile,
    metafile: true,
    logLevel: 'silent',
    // The temporary build lives outside the repository; its bare imports resolve to the repository's packages.
    nodePaths: [join(ROOT, 'node_modules')],
  }).catch((e: { errors?: Message[] }) => ({ errors: e.errors ?? [], metafile: undefined }));
  return {
    errors: result.errors,
    inputs: Object.keys(result.metafile?.inputs ?? {}),
    code: result.errors.length === 0 ? readFileSync(outfile, 'utf8') : '',
  };
}

describe('bundling the root entry for the browser (esbuild)', () => {
  it('succeeds with no externals, and pulls in no Node built-in', async () => {
    const { errors, inputs, code } = await bundle(`export * from ${JSON.stringify(join(work, 'dist', 'index.js'))};\n`, 'root');
    expect(errors, describeMessages(errors)).toEqual([]);
    // Everything the library and tfjs need is inside: the library, tfjs and the wasm backend.
    expect(inputs.some((f) => f.endsWith(join('dist', 'index.js')))).toBe(true);
    expect(inputs.some((f) => f.includes('@tensorflow/tfjs-backend-wasm'))).toBe(true);
    // Built-ins appear only as the "(disabled)" empty stand-ins that dependencies' `browser` fields ask
    // for (seedrandom's crypto, tfjs-core's util, the Emscripten module's fs/path/os); the library's own
    // Node-only imports are hidden from the bundler.
    const builtins = inputs.filter((f) => /^(\(disabled\):)?(node:)?(fs|fs\/promises|path|zlib|url|os|crypto|util)$/.test(f));
    expect(builtins.every((f) => f.startsWith('(disabled):')), builtins.join()).toBe(true);
    expect(code).not.toMatch(/import\(\s*["']node:/);
  }, 60_000);

  it('fails on a literal import of a Node built-in (the check has teeth)', async () => {
    const { errors } = await bundle("export const f = async () => (await import('node:zlib')).gunzipSync;\n", 'literal');
    expect(describeMessages(errors)).toMatch(/node:zlib/);
  }, 60_000);
});
