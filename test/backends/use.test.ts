/** useBackend specs, errors (pinned messages), capabilities and switching the fixes on and off. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capabilities, useBackend, type BackendSpec } from '../../src/backends/index.js';
import { WASM_FIXES } from '../../src/advanced.js';
import { LongTailError } from '../../src/core/errors.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function rejection(spec: unknown): Promise<LongTailError> {
  try {
    await useBackend(spec as BackendSpec);
  } catch (e) {
    if (e instanceof LongTailError) return e;
    throw e;
  }
  throw new Error(`expected useBackend(${JSON.stringify(spec)}) to throw`);
}

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  await useBackend('cpu');
});

afterAll(async () => {
  await useBackend('wasm');
});

describe('bad specs: INVALID_OPTION before anything loads', () => {
  const cases: [unknown, string][] = [
    ['gpu', `expected backend name to be one of 'cpu', 'wasm', 'tensorflow', 'tensorflow-gpu', 'webgl'. Received: name="gpu"`],
    [{ name: 'WASM' }, `expected backend name to be one of 'cpu', 'wasm', 'tensorflow', 'tensorflow-gpu', 'webgl'. Received: name="WASM"`],
    [{}, `expected backend name to be one of 'cpu', 'wasm', 'tensorflow', 'tensorflow-gpu', 'webgl'. Received: name=undefined`],
    [null, 'expected a backend name or an options object { name, ... }. Received: spec=null'],
    [{ name: 'wasm', threads: 0 }, 'expected threads >= 1. Received: threads=0'],
    [{ name: 'wasm', threads: 1.5 }, 'expected threads to be an integer. Received: threads=1.5'],
    [{ name: 'wasm', threads: 9 }, 'expected threads <= 8. Received: threads=9'],
    [{ name: 'wasm', fixes: 'yes' }, 'expected fixes to be a boolean. Received: fixes="yes"'],
    [{ name: 'wasm', onWarning: 3 }, 'expected onWarning to be a function. Received: onWarning=3'],
    [{ name: 'wasm', wasmPaths: '/wasm' }, `expected wasmPaths to be a URL or path prefix ending in '/'. Received: wasmPaths="/wasm"`],
    [{ name: 'wasm', wasmPaths: 3 }, `expected wasmPaths to be a URL or path prefix ending in '/'. Received: wasmPaths=3`],
  ];
  it.each(cases)('%j', async (spec, message) => {
    const before = tf.memory().numTensors;
    const e = await rejection(spec);
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toBe(message);
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('unknown keys: UNKNOWN_OPTION with the nearest valid key, before anything loads', () => {
  const cases: [unknown, string][] = [
    [{ name: 'wasm', thread: 2 }, 'expected useBackend { name: "wasm" } to be among name, threads, fixes, wasmPaths, onWarning. Received: thread (did you mean threads?)'],
    [{ name: 'cpu', threads: 2 }, 'expected useBackend { name: "cpu" } to be among name, onWarning. Received: threads'],
  ];
  it.each(cases)('%j', async (spec, message) => {
    const before = tf.memory().numTensors;
    const e = await rejection(spec);
    expect(e.code).toBe('UNKNOWN_OPTION');
    expect(e.message).toBe(message);
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('BACKEND_UNAVAILABLE', () => {
  it.skipIf(installed('@tensorflow/tfjs-node'))("'tensorflow' without @tensorflow/tfjs-node says what to install, why it needs the internet, and the offline alternative", async () => {
    const e = await rejection('tensorflow');
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toBe(
      `expected the optional peer package @tensorflow/tfjs-node for backend 'tensorflow'. Received: name="tensorflow", but @tensorflow/tfjs-node is not installed. ` +
        'Install it with `npm install @tensorflow/tfjs-node`; its install step downloads a native libtensorflow binary from the internet, ' +
        'so it fails offline (behind a proxy, point TFJS_NODE_CDN_STORAGE or TFJS_NODE_BASE_URI at a mirror). ' +
        `The 'wasm' backend needs no download and works offline: useBackend('wasm').`,
    );
    expect(e.details).toEqual({ name: 'tensorflow', package: '@tensorflow/tfjs-node' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it.skipIf(installed('@tensorflow/tfjs-node-gpu'))("'tensorflow-gpu' names @tensorflow/tfjs-node-gpu", async () => {
    const e = await rejection({ name: 'tensorflow-gpu' });
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toContain('`npm install @tensorflow/tfjs-node-gpu`');
    expect(e.message).toContain("for backend 'tensorflow-gpu'");
  });

  it("'webgl' in Node explains there is no WebGL", async () => {
    const e = await rejection('webgl');
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toBe(
      `expected a WebGL context (a browser with WebGL). Received: name="webgl" in Node.js, which has no WebGL; use 'wasm' (or 'tensorflow' with @tensorflow/tfjs-node) there`,
    );
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('capabilities', () => {
  it('reports cpu', async () => {
    const caps = await useBackend({ name: 'cpu' });
    expect(caps).toEqual({
      backend: 'cpu',
      platform: 'node',
      simd: false,
      threads: 1,
      threadDecision: null,
      fixes: [],
      tfjsVersion: tf.version_core,
      warnings: [],
    });
    expect(capabilities()).toEqual(caps);
  });

  it('reports wasm with SIMD, one thread and every fix', async () => {
    const caps = await useBackend('wasm');
    expect(caps.backend).toBe('wasm');
    expect(caps.simd).toBe(true);
    expect(caps.threads).toBe(1);
    expect(caps.threadDecision).toMatch(/^(default: 1 thread|requested: 1 thread)/);
    expect(caps.fixes).toEqual([...WASM_FIXES]);
    expect(caps.warnings).toEqual([]);
  });
});

describe('fixes on and off', () => {
  it('fixes: false restores the stock kernels (and the stock MaxPoolGrad bug); fixes: true brings them back', async () => {
    const fixedMatMul = tf.getKernel('BatchMatMul', 'wasm');
    const off = await useBackend({ name: 'wasm', fixes: false });
    expect(off.fixes).toEqual([]);
    expect(tf.getKernel('BatchMatMul', 'wasm')).not.toBe(fixedMatMul);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeUndefined();
    // 4×4 all-negative input, 2×2 pools: each window's maximum is its top-left entry.
    const negativeWindowGrad = () =>
      tf.tidy(() => {
        const x = tf.range(-1, -17, -1).reshape([1, 4, 4, 1]);
        return Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(x).dataSync());
      });
    const expected = [1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0];
    expect(negativeWindowGrad()).not.toEqual(expected); // the stock bug this library fixes
    const on = await useBackend({ name: 'wasm', fixes: true });
    expect(on.fixes).toEqual([...WASM_FIXES]);
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(fixedMatMul);
    expect(negativeWindowGrad()).toEqual(expected);
  });

  it('registering twice is idempotent', async () => {
    const before = tf.getKernel('MaxPoolGrad', 'wasm');
    await useBackend('wasm');
    await useBackend({ name: 'wasm', fixes: true });
    expect(tf.getKernel('MaxPoolGrad', 'wasm')).toBe(before);
  });
});

describe('wasm in Node needs no path set-up', () => {
  it('starts in a fresh process whose working directory is elsewhere', () => {
    const dir = mkdtempSync(join(tmpdir(), 'longtail-wasm-test-'));
    try {
      const script = join(dir, 'probe.mts');
      writeFileSync(
        script,
        [
          `import * as tf from '${join(ROOT, 'node_modules/@tensorflow/tfjs/dist/tf.node.js')}';`,
          `import { useBackend } from '${join(ROOT, 'src/backends/index.ts')}';`,
          `const caps = await useBackend('wasm');`,
          `const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync();`,
          `process.stdout.write(JSON.stringify({ backend: caps.backend, y: Array.from(y) }));`,
        ].join('\n'),
      );
      const out = execFileSync(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), script], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(JSON.parse(out)).toEqual({ backend: 'wasm', y: [3, 3, 3, 3] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('wasmPaths', () => {
  it('is ignored with a warning once the wasm backend has started (tfjs reads it only at start)', async () => {
    await useBackend('wasm');
    const warnings: string[] = [];
    const caps = await useBackend({ name: 'wasm', wasmPaths: '/elsewhere/', onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual(['wasmPaths="/elsewhere/" ignored: the wasm backend already started with its binaries from the default location']);
    expect(caps.warnings).toEqual(warnings);
    expect(caps.backend).toBe('wasm');
    await useBackend('cpu');
  });
});
