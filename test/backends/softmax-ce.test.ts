import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { fusedSoftmaxCrossEntropy, setFusedCrossEntropy, softmaxCrossEntropyRows } from '../../src/backends/softmax-ce.js';
import { crossEntropy } from '../../src/losses/functional/crossEntropy.js';
import { seededRng } from '../../src/core/rng.js';
import { backendsUnderTest, expectNoLeak } from '../../src/testing/index.js';

const N = 37;
const C = 11;

function data(seed: string): { z: Float32Array; y: Int32Array; w: Float32Array; o: Float32Array } {
  const rng = seededRng(seed);
  const z = Float32Array.from({ length: N * C }, () => 3 * rng.normal());
  const y = Int32Array.from({ length: N }, () => rng.int(C));
  // Masked classes (−∞) away from the label.
  for (let i = 0; i < N; i += 5) z[i * C + (((y[i] as number) + 3) % C)] = -Infinity;
  const w = Float32Array.from({ length: N }, () => 0.5 + rng.next());
  const o = Float32Array.from({ length: C }, () => Math.log(0.01 + rng.next()));
  return { z, y, w, o };
}

/** Value and logit gradient of Σ_i ℓ_i·s_i (s fixed), through `perSample`. */
function valueAndGrad(z: Float32Array, perSample: (logits: tf.Tensor2D) => tf.Tensor1D): { value: Float32Array; grad: Float32Array } {
  return tf.tidy(() => {
    const logits = tf.tensor2d(z, [N, C]);
    const s = tf.linspace(0.2, 1.4, N);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => tf.sum(tf.mul(perSample(x as tf.Tensor2D), s)))(logits);
    return { value: Float32Array.from(value.dataSync()), grad: Float32Array.from(grad.dataSync()) };
  });
}

/** Float64 reference of {@link valueAndGrad}'s objective (naive loops). */
function reference(z: Float32Array, y: Int32Array, o: { offsets?: Float32Array; weights?: Float32Array; labelSmoothing: number }): { value: Float64Array; grad: Float64Array } {
  const grad = new Float64Array(N * C);
  let value = 0;
  for (let i = 0; i < N; i++) {
    const s = 0.2 + (1.2 * i) / (N - 1);
    const w = o.weights === undefined ? 1 : (o.weights[i] as number);
    const zi = Array.from({ length: C }, (_, j) => (z[i * C + j] as number) + (o.offsets === undefined ? 0 : (o.offsets[j] as number)));
    const max = Math.max(...zi);
    const lse = max + Math.log(zi.reduce((a, v) => a + Math.exp(v - max), 0));
    for (let j = 0; j < C; j++) {
      const q = (j === y[i] ? 1 - o.labelSmoothing : 0) + o.labelSmoothing / C;
      if (q > 0) value += s * w * q * (lse - (zi[j] as number));
      grad[i * C + j] = s * w * (Math.exp((zi[j] as number) - lse) - q);
    }
  }
  return { value: Float64Array.of(value), grad };
}

/** max_i |a_i − b_i| / max(|b_i|, 1e-3·max|b|) over finite entries (non-finite entries must be equal). */
function worstRelative(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i] as number)) scale = Math.max(scale, Math.abs(want[i] as number));
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const a = got[i] as number;
    const b = want[i] as number;
    if (!Number.isFinite(b)) {
      if (a !== b) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(a - b) / Math.max(Math.abs(b), 1e-3 * scale));
  }
  return worst;
}

function expectRelative(got: Float32Array, want: Float32Array, label: string, rtol = 1e-6): void {
  expect(got.length, label).toBe(want.length);
  let scale = 0;
  for (const v of want) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    const a = got[i] as number;
    const b = want[i] as number;
    if (!Number.isFinite(b)) {
      expect(a, `${label}[${i}]`).toBe(b);
      continue;
    }
    // Relative to the entry, with the tensor's scale as the floor for entries that cancel to ~0.
    expect(Math.abs(a - b) / Math.max(Math.abs(b), 1e-3 * scale), `${label}[${i}]: ${a} vs ${b}`).toBeLessThanOrEqual(rtol);
  }
}

for (const backend of backendsUnderTest()) {
  describe(`fused softmax cross-entropy on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterAll(() => {
      setFusedCrossEntropy(true);
    });

    for (const labelSmoothing of [0, 0.1]) {
      it(`crossEntropy (labelSmoothing ${labelSmoothing}) matches the unfused composition: values and gradients`, () => {
        const { z, y } = data(`ce:${labelSmoothing}`);
        const run = () => valueAndGrad(z, (x) => tf.tidy(() => crossEntropy(x, tf.tensor1d(y, 'int32'), { labelSmoothing })));
        setFusedCrossEntropy(false);
        const unfused = run();
        setFusedCrossEntropy(true);
        const fused = run();
        const exact = reference(z, y, { labelSmoothing });
        // Fused: within 1e-6 of the float64 truth, and never further from it than the float32 composition
        // (whose own error reaches ~3e-5 on entries where p_ij − q_ij cancels, and differs cpu vs wasm).
        expectRelative(fused.value, Float32Array.from(exact.value), 'value');
        expect(worstRelative(fused.grad, exact.grad)).toBeLessThanOrEqual(1e-6);
        expect(worstRelative(fused.grad, exact.grad)).toBeLessThanOrEqual(worstRelative(unfused.grad, exact.grad) + 1e-7);
        expectRelative(fused.value, unfused.value, 'value vs unfused');
        expect(worstRelative(fused.grad, unfused.grad)).toBeLessThanOrEqual(1e-4);
      });
    }

    it('offsets and per-sample weights match (z + o) through the composition, times w', () => {
      const { z, y, w, o } = data('ce:offsets');
      // Masked entries make the smoothed loss infinite; use finite logits here.
      const zf = z.map((v) => (Number.isFinite(v) ? v : -30));
      const labels = () => tf.tensor1d(y, 'int32');
      setFusedCrossEntropy(false);
      const unfused = valueAndGrad(zf, (x) => tf.mul(crossEntropy(tf.add(x, tf.tensor1d(o)) as tf.Tensor2D, labels(), { labelSmoothing: 0.05 }), tf.tensor1d(w)) as tf.Tensor1D);
      setFusedCrossEntropy(true);
      const fused = valueAndGrad(zf, (x) => fusedSoftmaxCrossEntropy(x, labels(), { offsets: o, weights: w, labelSmoothing: 0.05 }));
      const exact = reference(zf, y, { offsets: o, weights: w, labelSmoothing: 0.05 });
      expectRelative(fused.value, Float32Array.from(exact.value), 'value');
      expect(worstRelative(fused.grad, exact.grad)).toBeLessThanOrEqual(1e-6);
      expect(worstRelative(fused.grad, exact.grad)).toBeLessThanOrEqual(worstRelative(unfused.grad, exact.grad) + 1e-7);
      expectRelative(fused.value, unfused.value, 'value vs unfused');
      expect(worstRelative(fused.grad, unfused.grad)).toBeLessThanOrEqual(1e-4);
    });

    it('masked classes get zero gradient, a masked label an infinite loss, NaN logits a NaN loss', () => {
      const out = tf.tidy(() => {
        const logits = tf.tensor2d([0, -Infinity, 1, -Infinity, 0, 1, NaN, 0, 1], [3, 3]);
        const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => tf.sum(fusedSoftmaxCrossEntropy(x as tf.Tensor2D, tf.tensor1d([0, 0, 1], 'int32'))))(logits);
        const perSample = fusedSoftmaxCrossEntropy(logits, tf.tensor1d([0, 0, 1], 'int32'));
        return { value: value.dataSync()[0], grad: Array.from(grad.dataSync()), perSample: Array.from(perSample.dataSync()) };
      });
      expect(out.grad[1]).toBe(0);
      expect(out.perSample[0]).toBeCloseTo(Math.log(1 + Math.E), 5);
      expect(out.perSample[1]).toBe(Infinity);
      expect(out.perSample[2]).toBeNaN();
      expect(out.value).toBeNaN();
    });

    it('leaks nothing, with or without a tape', async () => {
      const { z, y } = data('ce:leak');
      const logits = tf.tensor2d(z, [N, C]);
      const labels = tf.tensor1d(y, 'int32');
      const v = tf.variable(tf.scalar(1));
      await expectNoLeak(() => {
        fusedSoftmaxCrossEntropy(logits, labels).dispose();
        const { value, grads } = tf.variableGrads(() => tf.sum(fusedSoftmaxCrossEntropy(tf.mul(logits, v) as tf.Tensor2D, labels)));
        value.dispose();
        tf.dispose(Object.values(grads));
      });
      tf.dispose([logits, labels, v]);
    });
  });
}


describe('softmaxCrossEntropyRows (the host rows behind the fused op and the head step)', () => {
  /** The rows as before exp64: Math.exp, one pass per quantity (float64, stored as float32). */
  function mathExpRows(z: Float32Array, y: Int32Array, n: number, c: number, eps: number, offsets: Float32Array | null, weights: Float32Array | null): { loss: Float32Array; grad: Float32Array } {
    const loss = new Float32Array(n);
    const grad = new Float32Array(n * c);
    for (let i = 0; i < n; i++) {
      const v = Array.from({ length: c }, (_, j) => (z[i * c + j] as number) + (offsets === null ? 0 : (offsets[j] as number)));
      const max = Math.max(...v);
      const e = v.map((x) => Math.exp(x - max));
      let sum = 0;
      for (const x of e) sum += x;
      const lse = max + Math.log(sum);
      const w = weights === null ? 1 : (weights[i] as number);
      let l = 0;
      for (let j = 0; j < c; j++) {
        const q = j === y[i] ? 1 - eps + eps / c : eps / c;
        if (q > 0) l += q * (lse - (v[j] as number));
        grad[i * c + j] = w * ((e[j] as number) * (1 / sum) - q);
      }
      loss[i] = w * l;
    }
    return { loss, grad };
  }

  it('gives bit for bit the float32 values of the Math.exp computation', () => {
    const { z, y, w, o } = data('rows-bits');
    const finite = z.map((v) => (Number.isFinite(v) ? v : -30));
    for (const [eps, offsets, weights] of [[0, null, null], [0.1, o, w], [0, o, null], [0.3, null, w]] as const) {
      const loss = new Float32Array(N);
      const grad = new Float32Array(N * C);
      softmaxCrossEntropyRows(finite, y, N, C, { offsets, labelSmoothing: eps, weights }, loss, grad);
      const ref = mathExpRows(finite, y, N, C, eps, offsets, weights);
      expect(Array.from(loss)).toEqual(Array.from(ref.loss));
      expect(Array.from(grad)).toEqual(Array.from(ref.grad));
    }
  });

  it('reads padded logit rows through zStride and writes compact rows', () => {
    const { z, y, o } = data('rows-stride');
    const stride = C + 5;
    const padded = new Float32Array(N * stride).fill(Number.NaN);
    for (let i = 0; i < N; i++) padded.set(z.subarray(i * C, i * C + C), i * stride);
    const attrs = { offsets: o, labelSmoothing: 0.1, weights: null };
    const [l1, g1, l2, g2] = [new Float32Array(N), new Float32Array(N * C), new Float32Array(N), new Float32Array(N * C)];
    softmaxCrossEntropyRows(z, y, N, C, attrs, l1, g1);
    softmaxCrossEntropyRows(padded, y, N, C, { ...attrs, zStride: stride }, l2, g2);
    expect(Array.from(l2)).toEqual(Array.from(l1));
    expect(Array.from(g2)).toEqual(Array.from(g1));
  });
});
