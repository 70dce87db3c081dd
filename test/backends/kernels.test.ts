/**
 * Every wasm kernel fix against the cpu backend: forward and gradient, random shapes, strides, paddings
 * ('same' / 'valid'), dilations where tfjs supports them, negative inputs for max-pool. Inputs come from a
 * seeded Rng, so a failure reproduces.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng, type Rng } from '../../src/core/rng.js';
import { expectMatches, expectSameOnCpuAndWasm, normals, runOn } from './helpers.js';

type Pad = 'same' | 'valid';

function pick<T>(rng: Rng, values: readonly T[]): T {
  return values[rng.int(values.length)] as T;
}

/** Output size of a conv/pool along one axis, so a random config never yields an empty output. */
function outSize(n: number, f: number, s: number, d: number, pad: Pad): number {
  const eff = (f - 1) * d + 1;
  return pad === 'same' ? Math.ceil(n / s) : Math.floor((n - eff) / s) + 1;
}

/** sum(y · r) for a fixed random r, so every gradient entry gets a different upstream value. */
function weightedSum(y: tf.Tensor, r: Float32Array): tf.Scalar {
  return tf.sum(tf.mul(y, tf.tensor(r, y.shape)));
}

beforeAll(async () => {
  await useBackend('cpu');
  await useBackend('wasm');
});

describe('BatchMatMul (transposed operands go through the fast path)', () => {
  it('matches cpu for every transpose combination, rank 2 and 3, forward and gradient', async () => {
    const rng = seededRng('bmm');
    for (const batch of [0, 3]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const [m, k, n] = [2 + rng.int(30), 1 + rng.int(40), 1 + rng.int(25)];
          const lead = batch === 0 ? [] : [batch];
          const aShape = [...lead, ...(ta ? [k, m] : [m, k])];
          const bShape = [...lead, ...(tb ? [n, k] : [k, n])];
          const a = normals(rng, aShape.reduce((p, d) => p * d, 1));
          const b = normals(rng, bShape.reduce((p, d) => p * d, 1));
          const r = normals(rng, [...lead, m, n].reduce((p, d) => p * d, 1));
          await expectSameOnCpuAndWasm(`matMul ta=${ta} tb=${tb} batch=${batch}`, () => {
            const at = tf.tensor(a, aShape);
            const bt = tf.tensor(b, bShape);
            const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb);
            const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => weightedSum(f(x, y), r))([at, bt]);
            return [f(at, bt), ga as tf.Tensor, gb as tf.Tensor];
          });
        }
      }
    }
  });

  it('matches cpu for a dense layer gradient at the linear-head size (256 × 512 → 100)', async () => {
    const rng = seededRng('bmm-head');
    const x = normals(rng, 256 * 512);
    const w = normals(rng, 512 * 100);
    const r = normals(rng, 256 * 100);
    await expectSameOnCpuAndWasm('dense head', () => {
      const xt = tf.tensor(x, [256, 512]);
      const wt = tf.tensor(w, [512, 100]);
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => weightedSum(tf.matMul(a, b), r))([xt, wt]);
      return [gx as tf.Tensor, gw as tf.Tensor];
    });
  });
});

describe('Conv2D gradients (Conv2DBackpropFilter, Conv2DBackpropInput)', () => {
  it('match cpu on random shapes, strides 1–3 and both paddings', async () => {
    const rng = seededRng('conv');
    for (let trial = 0; trial < 14; trial++) {
      const pad = pick<Pad>(rng, ['same', 'valid']);
      const stride = 1 + rng.int(3);
      const f = 1 + rng.int(4);
      const h = f + rng.int(8);
      const w = f + rng.int(8);
      const [n, cin, cout] = [1 + rng.int(3), 1 + rng.int(4), 1 + rng.int(5)];
      const strides: [number, number] = [stride, 1 + rng.int(3)];
      const fw = 1 + rng.int(Math.min(4, w));
      const oh = outSize(h, f, strides[0], 1, pad);
      const ow = outSize(w, fw, strides[1], 1, pad);
      const x = normals(rng, n * h * w * cin);
      const k = normals(rng, f * fw * cin * cout);
      const r = normals(rng, n * oh * ow * cout);
      const label = `conv2d x=[${n},${h},${w},${cin}] f=[${f},${fw},${cin},${cout}] s=${strides} ${pad}`;
      await expectSameOnCpuAndWasm(label, () => {
        const xt = tf.tensor4d(x, [n, h, w, cin]);
        const kt = tf.tensor4d(k, [f, fw, cin, cout]);
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad);
        const [gx, gk] = tf.grads((a: tf.Tensor, b: tf.Tensor) => weightedSum(conv(a, b), r))([xt, kt]);
        return [conv(xt, kt), gx as tf.Tensor, gk as tf.Tensor];
      });
    }
  });

  it('match cpu on geometries where the fast path crops (unused trailing rows, stride past the input)', async () => {
    const rng = seededRng('conv-edges');
    const cases: [h: number, f: number, s: number, pad: Pad][] = [
      [6, 3, 2, 'valid'],
      [5, 1, 2, 'same'],
      [7, 4, 3, 'same'],
      [8, 2, 3, 'valid'],
      [4, 4, 1, 'same'],
    ];
    for (const [h, f, s, pad] of cases) {
      const o = outSize(h, f, s, 1, pad);
      const x = normals(rng, 2 * h * h * 3);
      const k = normals(rng, f * f * 3 * 2);
      const r = normals(rng, 2 * o * o * 2);
      await expectSameOnCpuAndWasm(`conv2d h=${h} f=${f} s=${s} ${pad}`, () => {
        const [gx, gk] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          weightedSum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), r),
        )([tf.tensor4d(x, [2, h, h, 3]), tf.tensor4d(k, [f, f, 3, 2])]);
        return [gx as tf.Tensor, gk as tf.Tensor];
      });
    }
  });

  it('match cpu for the small-CNN layer sizes (64 × 28×28 × 1 → 16 filters)', async () => {
    const rng = seededRng('conv-cnn');
    const x = normals(rng, 64 * 28 * 28);
    const k = normals(rng, 3 * 3 * 16);
    const r = normals(rng, 64 * 28 * 28 * 16);
    await expectSameOnCpuAndWasm('cnn layer 1', () => {
      const [gx, gk] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        weightedSum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), r),
      )([tf.tensor(x, [64, 28, 28, 1]), tf.tensor(k, [3, 3, 1, 16])]);
      return [gx as tf.Tensor, gk as tf.Tensor];
    });
  });

  it('forward conv with dilations matches cpu (tfjs takes no gradient there)', async () => {
    const rng = seededRng('conv-dilated');
    const x = normals(rng, 2 * 11 * 10 * 3);
    const k = normals(rng, 3 * 2 * 3 * 4);
    for (const pad of ['same', 'valid'] as const) {
      await expectSameOnCpuAndWasm(`dilated conv ${pad}`, () => [
        tf.conv2d(tf.tensor4d(x, [2, 11, 10, 3]), tf.tensor4d(k, [3, 2, 3, 4]), 1, pad, 'NHWC', [2, 3]),
      ]);
    }
  });

  it('Conv2DBackpropFilter with NCHW data matches cpu (called as a kernel)', async () => {
    const rng = seededRng('conv-nchw');
    const x = normals(rng, 2 * 3 * 9 * 8);
    const dy = normals(rng, 2 * 4 * 5 * 4);
    await expectSameOnCpuAndWasm('backprop filter NCHW', () => [
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(x, [2, 3, 9, 8]), dy: tf.tensor4d(dy, [2, 4, 5, 4]) },
        { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor,
    ]);
  });
});

describe('MaxPoolGrad (stock wasm drops the gradient of negative windows)', () => {
  it('matches cpu on random configs with all-negative, mixed and tied inputs', async () => {
    const rng = seededRng('maxpool');
    for (let trial = 0; trial < 12; trial++) {
      const pad = pick<Pad>(rng, ['same', 'valid']);
      const f: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
      const s: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
      const [n, h, w, c] = [1 + rng.int(3), f[0] + rng.int(8), f[1] + rng.int(8), 1 + rng.int(4)];
      const shift = trial % 3 === 0 ? -6 : trial % 3 === 1 ? 0 : 0;
      const x = normals(rng, n * h * w * c, shift);
      // Every third config is relu'd, so whole windows tie at zero (cpu credits the first position).
      if (trial % 3 === 2) x.forEach((v, i) => (x[i] = Math.max(v, 0)));
      const r = normals(rng, n * outSize(h, f[0], s[0], 1, pad) * outSize(w, f[1], s[1], 1, pad) * c);
      await expectSameOnCpuAndWasm(`maxPool f=${f} s=${s} ${pad} shift=${shift}`, () => {
        const xt = tf.tensor4d(x, [n, h, w, c]);
        const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, f, s, pad);
        const gx = tf.grad((a: tf.Tensor) => weightedSum(pool(a), r))(xt);
        return [pool(xt), gx];
      });
    }
  });

  it('gives a non-zero gradient when every input is negative', async () => {
    const [gx] = await runOn('wasm', () => [
      tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(tf.fill([1, 4, 4, 1], -3).add(tf.range(0, 16).reshape([1, 4, 4, 1]).mul(-0.1))),
    ]);
    expect(Array.from(gx as Float32Array).filter((v) => v === 1)).toHaveLength(4);
  });
});

describe('depthwise conv gradients', () => {
  it('match cpu on random shapes, channel multipliers, strides and paddings', async () => {
    const rng = seededRng('depthwise');
    for (let trial = 0; trial < 10; trial++) {
      const pad = pick<Pad>(rng, ['same', 'valid']);
      const stride = 1 + rng.int(2);
      const f = 1 + rng.int(3);
      const [n, h, w, c, m] = [1 + rng.int(2), f + rng.int(7), f + rng.int(7), 1 + rng.int(4), 1 + rng.int(3)];
      const x = normals(rng, n * h * w * c);
      const k = normals(rng, f * f * c * m);
      const r = normals(rng, n * outSize(h, f, stride, 1, pad) * outSize(w, f, stride, 1, pad) * c * m);
      await expectSameOnCpuAndWasm(`depthwise x=[${n},${h},${w},${c}] f=${f} m=${m} s=${stride} ${pad}`, () => {
        const xt = tf.tensor4d(x, [n, h, w, c]);
        const kt = tf.tensor4d(k, [f, f, c, m]);
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad);
        const [gx, gk] = tf.grads((a: tf.Tensor, b: tf.Tensor) => weightedSum(conv(a, b), r))([xt, kt]);
        return [conv(xt, kt), gx as tf.Tensor, gk as tf.Tensor];
      });
    }
  });

  it('dilated depthwise gradient kernels match a plain loop (tfjs never asks, the kernels support it)', async () => {
    const rng = seededRng('depthwise-dilated');
    const [n, h, w, c, m, f, d] = [2, 9, 8, 3, 2, 3, 2];
    const [oh, ow] = [h - (f - 1) * d, w - (f - 1) * d];
    const x = normals(rng, n * h * w * c);
    const k = normals(rng, f * f * c * m);
    const dy = normals(rng, n * oh * ow * c * m);
    // Plain loops over y[n,p,q,c·m+j] = Σ_{a,b} x[n, p + a·d, q + b·d, c] · W[a,b,c,j] ('valid').
    const dW = new Float64Array(f * f * c * m);
    const dX = new Float64Array(n * h * w * c);
    for (let b0 = 0; b0 < n; b0++)
      for (let p = 0; p < oh; p++)
        for (let q = 0; q < ow; q++)
          for (let a = 0; a < f; a++)
            for (let b = 0; b < f; b++)
              for (let ch = 0; ch < c; ch++)
                for (let j = 0; j < m; j++) {
                  const xi = ((b0 * h + p + a * d) * w + q + b * d) * c + ch;
                  const wi = ((a * f + b) * c + ch) * m + j;
                  const g = dy[((b0 * oh + p) * ow + q) * c * m + ch * m + j] as number;
                  dW[wi] = (dW[wi] as number) + (x[xi] as number) * g;
                  dX[xi] = (dX[xi] as number) + (k[wi] as number) * g;
                }
    const attrs = { strides: 1, dilations: d, pad: 'valid' };
    const got = await runOn('wasm', () => [
      tf.engine().runKernel(
        'DepthwiseConv2dNativeBackpropFilter',
        { x: tf.tensor4d(x, [n, h, w, c]), dy: tf.tensor4d(dy, [n, oh, ow, c * m]) },
        { ...attrs, filterShape: [f, f, c, m] } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor,
      tf.engine().runKernel(
        'DepthwiseConv2dNativeBackpropInput',
        { dy: tf.tensor4d(dy, [n, oh, ow, c * m]), filter: tf.tensor4d(k, [f, f, c, m]) },
        { ...attrs, inputShape: [n, h, w, c] } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor,
    ]);
    expectMatches(got, [Float32Array.from(dW), Float32Array.from(dX)], 'dilated depthwise gradients');
  });
});

describe('UnsortedSegmentSum (gradient of gather)', () => {
  it('gather forward and gradient match cpu on axis 0 and 1 with repeated indices', async () => {
    const rng = seededRng('gather');
    const x = normals(rng, 7 * 5 * 3);
    const idx = Int32Array.from({ length: 11 }, () => rng.int(7));
    const idx1 = Int32Array.from({ length: 9 }, () => rng.int(5));
    const r0 = normals(rng, 11 * 5 * 3);
    const r1 = normals(rng, 7 * 9 * 3);
    await expectSameOnCpuAndWasm('gather', () => {
      const xt = tf.tensor3d(x, [7, 5, 3]);
      const g0 = tf.grad((a: tf.Tensor) => weightedSum(tf.gather(a, tf.tensor1d(idx, 'int32'), 0), r0))(xt);
      const g1 = tf.grad((a: tf.Tensor) => weightedSum(tf.gather(a, tf.tensor1d(idx1, 'int32'), 1), r1))(xt);
      return [tf.gather(xt, tf.tensor1d(idx, 'int32'), 0), g0, g1];
    });
  });

  it('unsortedSegmentSum forward matches cpu for float and int data, dropping out-of-range ids', async () => {
    const rng = seededRng('segments');
    const x = normals(rng, 12 * 4);
    const ids = Int32Array.from({ length: 12 }, (_, i) => (i === 5 ? 6 : rng.int(6)));
    await expectSameOnCpuAndWasm('unsortedSegmentSum', () => [
      tf.unsortedSegmentSum(tf.tensor2d(x, [12, 4]), tf.tensor1d(ids, 'int32'), 6),
      tf.unsortedSegmentSum(tf.tensor2d(x, [12, 4]).mul(10).round().toInt(), tf.tensor1d(ids, 'int32'), 6),
    ]);
  });
});
