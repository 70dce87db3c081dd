/**
 * Packaging: build, `npm pack`, then import the tarball with ESM `import` and CJS `require` from a
 * temporary project whose node_modules links to this repository's dependencies (no network needed).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..', '..');
let work = '';
let files: string[] = [];

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'longtail-pack-'));
  run('npm', ['run', 'build', '--silent'], root);
  const out = run('npm', ['pack', '--json', '--pack-destination', work], root);
  const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  files = (info[0]?.files ?? []).map((f) => f.path);
  const tarball = join(work, info[0]?.filename ?? '');
  const project = join(work, 'project');
  const pkgDir = join(project, 'node_modules', 'longtail');
  mkdirSync(pkgDir, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1'], work);
  // Every installed package of this repository is visible to the consumer, as after `npm install longtail`.
  for (const dep of readdirSync(join(root, 'node_modules'))) {
    if (dep.startsWith('.')) continue;
    symlinkSync(join(root, 'node_modules', dep), join(project, 'node_modules', dep));
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('packed tarball', () => {
  it('contains the builds and no data, tests or benchmarks', () => {
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.cjs');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/testing.js');
    expect(files).toContain('dist/testing.cjs');
    for (const f of files) expect(f).not.toMatch(/^(data|test|bench|scripts|examples)\//);
  });

  it('imports with ESM import and CJS require', () => {
    const project = join(work, 'project');
    writeFileSync(
      join(project, 'esm.mjs'),
      "import { LongTailError, createRng } from 'longtail';\nimport { expectClose } from 'longtail/testing';\n" +
        "const r = createRng(1); expectClose(r.next(), createRng(1).next());\n" +
        "console.log(typeof LongTailError, new LongTailError('INVALID_OPTION', 'm').code);\n",
    );
    writeFileSync(
      join(project, 'cjs.cjs'),
      "const { LongTailError, createRng } = require('longtail');\nconst t = require('longtail/testing');\n" +
        "console.log(typeof LongTailError, typeof t.expectNoLeak, createRng(2).int(10) >= 0);\n",
    );
    expect(run('node', ['esm.mjs'], project).trim()).toBe('function INVALID_OPTION');
    expect(run('node', ['cjs.cjs'], project).trim()).toBe('function function true');
    expect(readdirSync(join(project, 'node_modules', 'longtail', 'dist')).length).toBeGreaterThan(4);
  });
});
