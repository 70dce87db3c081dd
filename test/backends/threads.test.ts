/**
 * Opt-in multi-threaded wasm under Node: starts with the requested pool, computes the same numbers as cpu
 * with the fixes on, refuses to re-create the backend under live tensors, and goes back to one thread.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { capabilities, useBackend } from '../../src/backends/index.js';
import { WASM_FIXES } from '../../src/advanced.js';
import { LongTailError } from '../../src/core/errors.js';
import { seededRng } from '../../src/core/rng.js';
import { expectSameOnCpuAndWasm, normals } from './helpers.js';

afterAll(async () => {
  await useBackend({ name: 'wasm', threads: 1 });
});

describe('wasm threads in Node', () => {
  it('{ name: "wasm", threads: 2 } starts a 2-thread pool with every fix', async () => {
    await useBackend('cpu');
    const warnings: string[] = [];
    const caps = await useBackend({ name: 'wasm', threads: 2, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(caps).toMatchObject({ backend: 'wasm', simd: true, threads: 2, fixes: [...WASM_FIXES] });
  });

  it('computes what cpu computes (matmul and conv gradients on the threaded pool)', async () => {
    await useBackend({ name: 'wasm', threads: 2 });
    const rng = seededRng('threads');
    const a = normals(rng, 96 * 200);
    const b = normals(rng, 150 * 200);
    const x = normals(rng, 8 * 14 * 14 * 3);
    const k = normals(rng, 3 * 3 * 3 * 8);
    await expectSameOnCpuAndWasm('threaded', () => {
      const [ga] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q, false, true))))([
        tf.tensor2d(a, [96, 200]),
        tf.tensor2d(b, [150, 200]),
      ]);
      const [gx, gk] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, 'same'))))([
        tf.tensor4d(x, [8, 14, 14, 3]),
        tf.tensor4d(k, [3, 3, 3, 8]),
      ]);
      return [ga as tf.Tensor, gx as tf.Tensor, gk as tf.Tensor];
    });
    expect(capabilities().threads).toBe(2);
    expect(capabilities().threadDecision).toBe('requested: 2 threads');
  });

  it('refuses to change the thread count while tensors live on wasm (they would be lost)', async () => {
    await useBackend('wasm');
    const held = tf.ones([3]);
    try {
      await useBackend({ name: 'wasm', threads: 1 });
      throw new Error('expected a LongTailError');
    } catch (e) {
      expect(e).toBeInstanceOf(LongTailError);
      expect((e as LongTailError).code).toBe('BACKEND_UNAVAILABLE');
      expect((e as LongTailError).message).toBe(
        'expected no tensors on the wasm backend when changing its thread count from 2 to 1 (the backend is re-created and would lose them). Received: liveTensors=1',
      );
    }
    expect(Array.from(held.dataSync())).toEqual([1, 1, 1]);
    held.dispose();
  });

  it('threads: 1 goes back to the stock single-threaded module; omitting threads keeps the setting', async () => {
    expect((await useBackend({ name: 'wasm', threads: 1 })).threads).toBe(1);
    expect((await useBackend('wasm')).threads).toBe(1);
    const y = tf.tidy(() => Array.from(tf.matMul(tf.ones([2, 4]), tf.ones([4, 3])).dataSync()));
    expect(y).toEqual([4, 4, 4, 4, 4, 4]);
  });
});

describe('a script that uses wasm threads', () => {
  it('exits by itself when its work is done (the idle pthread workers do not keep Node alive)', async () => {
    const { spawn } = await import('node:child_process');
    const { resolve } = await import('node:path');
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, 'helpers/threads-exit.ts')], { cwd: resolve(__dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((res) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        res(null);
      }, 60_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        res(c);
      });
    });
    expect(out).toContain('done true');
    expect(code).toBe(0);
  }, 90_000);
});
