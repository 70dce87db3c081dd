import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { fusedSupConAvailable, setFusedSupCon } from '../../src/backends/supcon.js';
import { seededRng } from '../../src/core/rng.js';
import { supConLoss, supervisedContrastive, type SupConOptions } from '../../src/losses/index.js';
import { backendsUnderTest, expectNoLeak } from '../../src/testing/index.js';

interface Case {
  readonly name: string;
  readonly n: number;
  /** 0: features [N, d]; otherwise [N, V, d]. */
  readonly views: number;
  readonly d: number;
  /** Label range; 0: SimCLR mode (no labels). */
  readonly classes: number;
  /** Contrast rows; with `contrastLabels` they carry labels. */
  readonly k?: number;
  readonly contrastLabels?: boolean;
  readonly temperature: number;
  readonly baseTemperature?: number;
  readonly normalize?: boolean;
  /** Rows set to zero (the normalization floor). */
  readonly zeroRows?: readonly number[];
}

const CASES: readonly Case[] = [
  { name: 'two views, labels', n: 24, views: 2, d: 8, classes: 5, temperature: 0.07 },
  { name: 'one view [N, d], anchors without positives', n: 19, views: 0, d: 6, classes: 12, temperature: 0.1, baseTemperature: 0.07 },
  { name: 'SimCLR, three views', n: 11, views: 3, d: 5, classes: 0, temperature: 0.5 },
  { name: 'labelled contrast set (prototypes)', n: 16, views: 2, d: 7, classes: 4, k: 4, contrastLabels: true, temperature: 0.1 },
  { name: 'negatives-only contrast set, SimCLR', n: 9, views: 2, d: 4, classes: 0, k: 5, temperature: 0.2 },
  { name: 'no normalization', n: 14, views: 2, d: 6, classes: 3, k: 3, contrastLabels: true, temperature: 1, normalize: false },
  { name: 'small temperature (row maxima spread around the shared-shift limit)', n: 20, views: 2, d: 6, classes: 4, temperature: 0.01 },
  { name: 'tiny temperature (a shift per row)', n: 12, views: 2, d: 5, classes: 3, temperature: 0.002, baseTemperature: 0.07 },
  { name: 'zero vectors', n: 10, views: 2, d: 4, classes: 3, temperature: 0.1, zeroRows: [0, 7] },
];

interface Data {
  readonly x: Float32Array;
  readonly shape: number[];
  readonly y: Int32Array | null;
  readonly p: Float32Array | null;
  readonly py: Int32Array | null;
}

function data(c: Case): Data {
  const rng = seededRng(`supcon:${c.name}`);
  const shape = c.views === 0 ? [c.n, c.d] : [c.n, c.views, c.d];
  const rowLength = c.views === 0 ? c.d : c.views * c.d;
  const x = Float32Array.from({ length: c.n * rowLength }, () => rng.normal());
  for (const r of c.zeroRows ?? []) x.fill(0, r * rowLength, (r + 1) * rowLength);
  const y = c.classes === 0 ? null : Int32Array.from({ length: c.n }, () => rng.int(c.classes));
  const p = c.k === undefined ? null : Float32Array.from({ length: c.k * c.d }, () => rng.normal());
  const py = c.k === undefined || c.contrastLabels !== true ? null : Int32Array.from({ length: c.k }, (_, i) => i % c.classes);
  return { x, shape, y, p, py };
}

/** Per-anchor values, weights, and the gradients of Σ_a s_a·ℓ_a (s fixed) with respect to the features and the contrast rows. */
interface Result {
  readonly values: Float32Array;
  readonly weights: Float32Array;
  readonly dx: Float32Array;
  readonly dp: Float32Array | null;
}

function run(c: Case, dt: Data): Result {
  let result: Result | null = null;
  tf.tidy(() => {
    const x = tf.tensor(dt.x, dt.shape as [number, number] | [number, number, number]) as tf.Tensor2D | tf.Tensor3D;
    const p = dt.p === null ? null : tf.tensor2d(dt.p, [c.k as number, c.d]);
    const labels = dt.y === null ? undefined : tf.tensor1d(dt.y, 'int32');
    const options = (f: tf.Tensor, q: tf.Tensor | null): SupConOptions => ({
      temperature: c.temperature,
      ...(c.baseTemperature === undefined ? {} : { baseTemperature: c.baseTemperature }),
      ...(c.normalize === undefined ? {} : { normalize: c.normalize }),
      ...(labels === undefined ? {} : { labels }),
      ...(q === null ? {} : { contrast: { features: q as tf.Tensor2D, ...(dt.py === null ? {} : { labels: tf.tensor1d(dt.py, 'int32') }) } }),
    });
    const out = supervisedContrastive(x, options(x, p));
    const s = tf.linspace(0.2, 1.4, out.values.shape[0]);
    const objective = (f: tf.Tensor, q: tf.Tensor | null) => tf.sum(tf.mul(supervisedContrastive(f as tf.Tensor3D, options(f, q)).values, s)) as tf.Scalar;
    const grads = p === null ? [tf.grad((f: tf.Tensor) => objective(f, null))(x)] : tf.grads((f: tf.Tensor, q: tf.Tensor) => objective(f, q))([x, p]);
    result = {
      values: Float32Array.from(out.values.dataSync()),
      weights: Float32Array.from(out.weights.dataSync()),
      dx: Float32Array.from((grads[0] as tf.Tensor).dataSync()),
      dp: p === null ? null : Float32Array.from((grads[1] as tf.Tensor).dataSync()),
    };
  });
  return result as unknown as Result;
}

/**
 * Float64 reference (naive loops, no contrast set): the gradient of Σ_a s_a·ℓ_a with respect to the raw
 * features, with â = x/‖x‖, S = âÂᵀ/T, G_ab = s_a·c_a·(1[b∈P(a)]/n_a − softmax_{b≠a}(S_a)_b) and
 * ∂/∂â_a = Σ_b (G_ab + G_ba)·â_b / T, then ∂/∂x = (g − â(â·g))/‖x‖.
 */
function reference64(c: Case, dt: Data): Float64Array {
  const views = c.views === 0 ? 1 : c.views;
  const m = c.n * views;
  const d = c.d;
  const row = (a: number) => ((a % c.n) * views + Math.floor(a / c.n)) * d;
  const norms = Array.from({ length: m }, (_, a) => Math.hypot(...dt.x.subarray(row(a), row(a) + d)));
  const hat = Array.from({ length: m }, (_, a) => Array.from(dt.x.subarray(row(a), row(a) + d), (v) => v / (norms[a] as number)));
  const id = (a: number) => (dt.y === null ? a % c.n : (dt.y[a % c.n] as number));
  const scale = c.temperature / (c.baseTemperature ?? c.temperature);
  const sim = (a: number, b: number) => (hat[a] as number[]).reduce((acc, v, j) => acc + v * ((hat[b] as number[])[j] as number), 0) / c.temperature;
  const g = Array.from({ length: m }, () => new Float64Array(m));
  for (let a = 0; a < m; a++) {
    const others = Array.from({ length: m }, (_, b) => b).filter((b) => b !== a);
    const pos = others.filter((b) => id(b) === id(a));
    if (pos.length === 0) continue;
    const max = Math.max(...others.map((b) => sim(a, b)));
    const z = others.reduce((acc, b) => acc + Math.exp(sim(a, b) - max), 0);
    const s = 0.2 + (1.2 * a) / (m - 1);
    for (const b of others) (g[a] as Float64Array)[b] = s * -scale * ((pos.includes(b) ? 1 / pos.length : 0) - Math.exp(sim(a, b) - max) / z);
  }
  const out = new Float64Array(dt.x.length);
  for (let a = 0; a < m; a++) {
    const dHat = new Float64Array(d);
    for (let b = 0; b < m; b++) for (let j = 0; j < d; j++) dHat[j] = (dHat[j] as number) + (((g[a] as Float64Array)[b] as number) + ((g[b] as Float64Array)[a] as number)) * ((hat[b] as number[])[j] as number) / c.temperature;
    const dot = dHat.reduce((acc, v, j) => acc + v * ((hat[a] as number[])[j] as number), 0);
    for (let j = 0; j < d; j++) out[row(a) + j] = ((dHat[j] as number) - ((hat[a] as number[])[j] as number) * dot) / (norms[a] as number);
  }
  return out;
}

function worstAbs(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
  return worst;
}

function withFused<T>(on: boolean, f: () => T): T {
  const previous = setFusedSupCon(on);
  try {
    return f();
  } finally {
    setFusedSupCon(previous);
  }
}

/** max_i |a_i − b_i| ≤ rtol · max_i |b_i|: relative to the tensor's scale (entries of a gradient cancel to ~0). */
function expectRelative(got: Float32Array, want: Float32Array, label: string, rtol = 1e-6): void {
  expect(got.length, label).toBe(want.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    expect(Number.isFinite(got[i] as number), `${label}[${i}] finite`).toBe(Number.isFinite(want[i] as number));
    scale = Math.max(scale, Math.abs(want[i] as number));
    worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
  }
  expect(worst, `${label}: worst |Δ| ${worst} at scale ${scale}`).toBeLessThanOrEqual(rtol * scale);
}

for (const backend of backendsUnderTest()) {
  describe(`fused SupCon on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterAll(() => {
      setFusedSupCon(true);
    });

    it('runs where tensors live in host memory', () => {
      expect(fusedSupConAvailable()).toBe(backend === 'cpu' || backend === 'wasm');
    });

    it.each(CASES.map((c) => [c.name, c] as const))('%s: values, weights and gradients match the op composition within 1e-6', (_name, c) => {
      const dt = data(c);
      const unfused = withFused(false, () => run(c, dt));
      const fused = withFused(true, () => run(c, dt));
      // Below T = 0.05 the float32 rounding of a normalized row (6e-8) moves S by 6e-8/T: both paths then
      // differ from the float64 truth by more than 1e-6, and the tolerance scales with 1/T (as the golden
      // tests' at tiny temperatures); the float64 reference below shows the fused path is not the worse one.
      const rtol = 1e-6 * Math.max(1, 0.05 / c.temperature);
      expect(Array.from(fused.weights)).toEqual(Array.from(unfused.weights));
      expectRelative(fused.values, unfused.values, 'values', rtol);
      expectRelative(fused.dx, unfused.dx, 'd features', rtol);
      if (unfused.dp !== null) expectRelative(fused.dp as Float32Array, unfused.dp, 'd contrast', rtol);
      if (c.k === undefined && c.normalize === undefined && c.zeroRows === undefined) {
        const truth = reference64(c, dt);
        const scale = worstAbs(truth, new Float64Array(truth.length));
        const fusedError = worstAbs(fused.dx, truth);
        const opError = worstAbs(unfused.dx, truth);
        expect(opError, 'the reference agrees with the op path').toBeLessThanOrEqual(1e-4 * scale);
        expect(fusedError, `fused ${fusedError} vs op path ${opError} from float64, scale ${scale}`).toBeLessThanOrEqual(Math.max(opError, 1e-6 * scale));
      }
      // Not a vacuous comparison: the loss and the gradient are non-trivial.
      expect(fused.values.some((v) => v !== 0)).toBe(true);
      expect(fused.dx.some((v) => v !== 0)).toBe(true);
    });

    it('is deterministic: two runs give bit-identical values and gradients', () => {
      const c = CASES[3] as Case;
      const dt = data(c);
      const a = run(c, dt);
      const b = run(c, dt);
      expect(Array.from(b.values)).toEqual(Array.from(a.values));
      expect(Array.from(b.dx)).toEqual(Array.from(a.dx));
      expect(Array.from(b.dp as Float32Array)).toEqual(Array.from(a.dp as Float32Array));
    });

    it('supConLoss through the fused op: both noPositive policies, host labels, and the loss objects agree with the op path', () => {
      const c = CASES[1] as Case;
      const dt = data(c);
      for (const noPositive of ['zero', 'exclude'] as const) {
        const lossAndGrad = () =>
          tf.tidy(() => {
            const x = tf.tensor2d(dt.x, [c.n, c.d]);
            const labels = tf.tensor1d(dt.y as Int32Array, 'int32');
            const loss = supConLoss({ temperature: 0.1, features: 'embeddings', noPositive });
            const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels, labelValues: dt.y as Int32Array }))(x);
            return [Float32Array.of(value.dataSync()[0] as number), Float32Array.from(grad.dataSync())] as const;
          });
        const [v0, g0] = withFused(false, lossAndGrad);
        const [v1, g1] = withFused(true, lossAndGrad);
        expectRelative(v1, v0, `${noPositive} loss`);
        expectRelative(g1, g0, `${noPositive} gradient`);
      }
    });

    it('a NaN feature makes the loss NaN (the trainer then refuses the step), as on the op path', () => {
      const c = CASES[0] as Case;
      const dt = data(c);
      const x = dt.x.slice();
      x[3] = Number.NaN;
      const value = (on: boolean) => withFused(on, () => tf.tidy(() => tf.sum(supervisedContrastive(tf.tensor3d(x, [c.n, c.views, c.d]), { labels: tf.tensor1d(dt.y as Int32Array, 'int32') }).values).dataSync()[0] as number));
      expect(value(true)).toBeNaN();
      expect(value(false)).toBeNaN();
    });

    it('leaks no tensor: forward + backward, and a call that fails validation', async () => {
      const c = CASES[3] as Case;
      const dt = data(c);
      const x = tf.tensor3d(dt.x, [c.n, c.views, c.d]);
      const p = tf.tensor2d(dt.p as Float32Array, [c.k as number, c.d]);
      const y = tf.tensor1d(dt.y as Int32Array, 'int32');
      const py = tf.tensor1d(dt.py as Int32Array, 'int32');
      try {
        await expectNoLeak(() => {
          const out = supervisedContrastive(x, { labels: y, contrast: { features: p, labels: py } });
          tf.dispose([out.values, out.weights]);
          const g = tf.grads((f: tf.Tensor, q: tf.Tensor) => tf.sum(supervisedContrastive(f as tf.Tensor3D, { labels: y, contrast: { features: q as tf.Tensor2D, labels: py } }).values))([x, p]);
          tf.dispose(g);
        });
        const bad = tf.tensor1d(Int32Array.from({ length: c.n }, (_, i) => (i === 2 ? -1 : 0)), 'int32');
        await expectNoLeak(() => {
          expect(() => supervisedContrastive(x, { labels: bad })).toThrow(/LABEL_OUT_OF_RANGE|expected labels/);
        });
        bad.dispose();
      } finally {
        tf.dispose([x, p, y, py]);
      }
    });
  });
}
