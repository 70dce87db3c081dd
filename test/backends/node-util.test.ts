/**
 * tfjs-node 4.22 on Node ≥ 23: the `util` functions it calls (isNullOrUndefined, isArray; read from its
 * 4.22 sources) are put back where absent. Node 23 is simulated by deleting them from Node's `util`
 * (restored after each test), and their behaviour is compared with this Node's own functions, which have
 * Node 20's semantics.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ensureTfjsNodeUtilFunctions, installTfjsNodeUtilFunctions, TFJS_NODE_UTIL_FUNCTIONS } from '../../src/backends/node-util.js';

const util = createRequire(import.meta.url)('node:util') as Record<string, unknown>;
const NAMES = Object.keys(TFJS_NODE_UTIL_FUNCTIONS);
const originals = new Map(NAMES.map((n) => [n, Object.getOwnPropertyDescriptor(util, n)]));
const ROOT = resolve(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'longtail-node-util-'));

function restore(): void {
  for (const [name, descriptor] of originals) {
    if (descriptor === undefined) delete util[name];
    else Object.defineProperty(util, name, descriptor);
  }
}
afterEach(restore);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SAMPLES: unknown[] = [null, undefined, 0, -0, NaN, '', 'null', false, true, [], [1, 2], {}, { length: 0 }, new Float32Array(2), Object.create(null), () => 1, Symbol('s'), 10n];

describe('tfjs-node util functions', () => {
  it('are exactly the util functions tfjs-node 4.22 imports', () => {
    expect([...NAMES].sort()).toEqual(['isArray', 'isNullOrUndefined']);
  });

  it('are installed on Node’s util when absent, and behave like Node 20’s', async () => {
    const node20 = Object.fromEntries(NAMES.map((n) => [n, util[n] as ((v: unknown) => boolean) | undefined]));
    for (const name of NAMES) delete util[name];
    expect(typeof util['isNullOrUndefined']).toBe('undefined');

    expect((await ensureTfjsNodeUtilFunctions()).sort()).toEqual(['isArray', 'isNullOrUndefined']);
    // The object CommonJS code (tfjs-node's `require('util')`) sees is the one that got them.
    const required = createRequire(import.meta.url)('util') as Record<string, unknown>;
    for (const name of NAMES) {
      const fn = required[name] as (v: unknown) => boolean;
      expect(typeof fn).toBe('function');
      const reference = node20[name];
      if (reference === undefined) continue; // this Node has already dropped it (≥ 23): nothing to compare with
      const quiet = process.noDeprecation === true;
      process.noDeprecation = true; // Node 22 warns on each deprecated call
      try {
        expect(SAMPLES.map((v) => fn(v))).toEqual(SAMPLES.map((v) => reference(v)));
      } finally {
        process.noDeprecation = quiet;
      }
    }
  });

  it('never replace functions that exist', () => {
    const own = (): boolean => true;
    const target: Record<string, unknown> = { isArray: own };
    expect(installTfjsNodeUtilFunctions(target)).toEqual(['isNullOrUndefined']);
    expect(target['isArray']).toBe(own);
    expect(installTfjsNodeUtilFunctions(target)).toEqual([]);
  });

  it("useBackend('tensorflow') installs them before it loads tfjs-node (child process without them)", () => {
    const file = join(work, 'native.mjs');
    writeFileSync(
      file,
      "import { createRequire } from 'node:module';\n" +
        "const util = createRequire(import.meta.url)('util');\n" +
        'delete util.isNullOrUndefined; delete util.isArray;\n' +
        `const { useBackend } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src', 'index.ts')).href)});\n` +
        "let outcome = 'loaded';\n" +
        "try { await useBackend('tensorflow'); } catch (e) { outcome = e.code; }\n" +
        'console.log(JSON.stringify({ outcome, isNullOrUndefined: [util.isNullOrUndefined?.(null), util.isNullOrUndefined?.(0)], isArray: [util.isArray?.([]), util.isArray?.({})] }));\n',
    );
    const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [file], { cwd: work, encoding: 'utf8', timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout.trim()) as { outcome: string };
    // tfjs-node is an optional peer: here it is usually absent (BACKEND_UNAVAILABLE), the functions are back either way.
    expect(['loaded', 'BACKEND_UNAVAILABLE']).toContain(report.outcome);
    expect(report).toMatchObject({ isNullOrUndefined: [true, false], isArray: [true, false] });
  }, 90_000);
});
