/**
 * Packaging, as a user meets it: `npm pack` of a clean checkout (no dist/: the `prepack` script must
 * build it), then `npm install <tarball> --offline` into a fresh project, used from ESM and from CommonJS.
 *
 * The clean checkout is a copy of the files git would clone (tracked plus untracked-but-not-ignored, so
 * uncommitted work is tested too), without dist/ or node_modules/. The fresh project gets the library's
 * dependencies and its peer @tensorflow/tfjs as hard-linked copies of this repository's installed ones,
 * so npm needs no network.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..', '..');
let work = '';
let project = '';
let files: string[] = [];

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** The files a fresh `git clone` of the working tree would hold (nothing ignored, so no dist/). */
function cloneWorkingTree(into: string): void {
  const listed = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root).split('\0');
  for (const rel of listed) {
    // node_modules may be a symlink (git does not ignore a symlink with the `node_modules/` pattern).
    if (rel === '' || rel === 'node_modules' || rel.startsWith('node_modules/')) continue;
    const from = join(root, rel);
    if (!existsSync(from)) continue; // deleted but not yet committed
    mkdirSync(dirname(join(into, rel)), { recursive: true });
    copyFileSync(from, join(into, rel));
  }
}

/** `names` and everything they depend on, as installed in `nodeModules` (hoisted layout). */
function dependencyClosure(nodeModules: string, names: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const pkg = JSON.parse(readFileSync(join(nodeModules, name, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    // Dependencies nested under the package's own node_modules/ travel with it.
    for (const dep of Object.keys(pkg.dependencies ?? {})) if (!existsSync(join(nodeModules, name, 'node_modules', dep))) queue.push(dep);
  }
  return [...seen].sort();
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'longtail-pack-'));
  const clone = join(work, 'clone');
  cloneWorkingTree(clone);
  expect(existsSync(join(clone, 'dist'))).toBe(false);
  // The build tools of the checkout: what `npm ci` would install there.
  const installed = realpathSync(join(root, 'node_modules'));
  symlinkSync(installed, join(clone, 'node_modules'));
  const out = run('npm', ['pack', '--json', '--pack-destination', work], clone);
  const info = JSON.parse(out.slice(out.search(/^\[$/m))) as { filename: string; files: { path: string }[] }[];
  files = (info[0]?.files ?? []).map((f) => f.path);
  const tarball = join(work, info[0]?.filename ?? '');

  project = join(work, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of dependencyClosure(installed, ['@tensorflow/tfjs', ...Object.keys(manifest.dependencies)])) {
    // Hard links: fast, and npm replaces files rather than writing into them.
    mkdirSync(dirname(join(project, 'node_modules', dep)), { recursive: true });
    run('cp', ['-al', join(installed, dep), join(project, 'node_modules', dep)], work);
  }
  run('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], project);
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A user's loss registered in the root entry's registry, then checked with `longtail/testing`. */
const USER_LOSS = `
const scaledCe = (scale) => defineLoss({
  kind: 'userScaledCe',
  config: { scale },
  requires: ['logits'],
  terms: ({ logits, labels }) => ({
    ce: { kind: 'perSample', values: tf.tidy(() => tf.mul(-scale, tf.sum(tf.mul(tf.oneHot(labels, logits.shape[1]), tf.logSoftmax(logits)), 1))) },
  }),
});
lossRegistry.register('userScaledCe', (c) => scaledCe(c.scale));
const inputs = () => ({ logits: tf.tensor2d([[1, 2, 0.5], [0.1, -1, 2], [0, 0, 0], [3, 1, -2]]), labels: tf.tensor1d([1, 2, 0, 0], 'int32') });

async function main() {
  const before = await useBackend('wasm');
  await expectLossConformance(scaledCe(2), { inputs, backends: ['cpu', 'wasm'] });
  const after = capabilities();
  console.log(JSON.stringify({ before: before.fixes.length, after: after.fixes.length, backend: after.backend, tensors: tf.memory().numTensors, ...extra() }));
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

describe('npm pack of a clean checkout', () => {
  it('builds dist/ in prepack and ships it, without data, tests, benchmarks or examples', () => {
    for (const f of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/testing.js', 'dist/testing.cjs', 'dist/testing.d.ts', 'dist/index.d.cts', 'dist/testing.d.cts', 'dist/advanced.js', 'dist/advanced.cjs', 'dist/advanced.d.ts', 'dist/advanced.d.cts', 'package.json', 'README.md', 'LICENSE']) {
      expect(files).toContain(f);
    }
    for (const f of files) expect(f).toMatch(/^(dist\/|package\.json$|README\.md$|CHANGELOG\.md$|LICENSE$)/);
  });
});

describe('the installed tarball', () => {
  it('has one library instance under ESM import: a loss registered in the root registry passes longtail/testing', () => {
    writeFileSync(
      join(project, 'esm.mjs'),
      "import * as tf from '@tensorflow/tfjs';\nimport { defineLoss, lossRegistry, useBackend, capabilities } from 'longtail';\n" +
        "import { expectLossConformance } from 'longtail/testing';\nconst extra = () => ({});\n" +
        USER_LOSS,
    );
    const report = JSON.parse(run('node', ['esm.mjs'], project).trim()) as Record<string, unknown>;
    expect(report).toEqual({ before: expect.any(Number), after: report['before'], backend: 'wasm', tensors: 0 });
    expect(report['before']).toBeGreaterThan(0);
  }, 120_000);

  it('has one library instance under CommonJS require: same registry, same backend state, one copy loaded', () => {
    writeFileSync(
      join(project, 'cjs.cjs'),
      "const tf = require('@tensorflow/tfjs');\nconst { defineLoss, lossRegistry, useBackend, capabilities } = require('longtail');\n" +
        "const { expectLossConformance } = require('longtail/testing');\n" +
        // Which of the package's files are loaded: the root build once, and testing.cjs without a copy.
        "const extra = () => ({ loaded: Object.keys(require.cache).filter((f) => f.includes(require('path').join('node_modules', 'longtail', ''))).map((f) => require('path').basename(f)).sort() });\n" +
        USER_LOSS,
    );
    const report = JSON.parse(run('node', ['cjs.cjs'], project).trim()) as Record<string, unknown>;
    expect(report).toEqual({ before: expect.any(Number), after: report['before'], backend: 'wasm', tensors: 0, loaded: ['index.cjs', 'testing.cjs'] });
    expect(report['before']).toBeGreaterThan(0);
  }, 120_000);

  it('resolves @tensorflow/tfjs to the consumer project’s single copy', () => {
    const probe = "console.log(require.resolve('@tensorflow/tfjs', { paths: [require('path').dirname(require.resolve('longtail'))] }))";
    expect(run('node', ['-e', probe], project).trim().startsWith(join(realpathSync(project), 'node_modules', '@tensorflow', 'tfjs', ''))).toBe(true);
  });
});
