import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { toConfig } from '../../src/core/registry.js';
import { seededRng } from '../../src/core/rng.js';
import { otLoss } from '../../src/synth/ot-loss.js';
import { OtDistributionMatching, seedClassWeights } from '../../src/synth/ot-matching.js';
import { synthRegistry } from '../../src/synth/registry.js';
import { cosine, normalizeByMax, sinkhorn } from '../../src/synth/sinkhorn.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';

const d = 3;
/** Three well-separated classes with counts 40 / 12 / 4 along the axes. */
function data(): { x: number[]; y: number[] } {
  const rng = seededRng(17);
  const x: number[] = [];
  const y: number[] = [];
  [40, 12, 4].forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < d; k++) x.push((k === c ? 3 : 0) + 0.3 * rng.normal());
      y.push(c);
    }
  });
  return { x, y };
}

/** A fixed linear head: logits = 2·x (class c's logit is 2·x_c). */
const head = (f: tf.Tensor2D): tf.Tensor2D => tf.mul(f, 2) as tf.Tensor2D;

function observed(options: Partial<ConstructorParameters<typeof OtDistributionMatching>[0]> = {}): OtDistributionMatching {
  const s = new OtDistributionMatching({ numClasses: 3, ...options });
  const { x, y } = data();
  const batch = { features: tf.tensor2d(x, [y.length, d]), labels: tf.tensor1d(y, 'int32') };
  s.observe(batch);
  tf.dispose([batch.features, batch.labels]);
  return s;
}

for (const backend of backendsUnderTest()) {
  describe(`otLoss on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('value is ⟨P, M⟩ of the Sinkhorn plan; gradient is Σ_j P_ij·2(x_i − y_j) / max M (plan held constant)', async () => {
      const rng = seededRng(4);
      const n = 5;
      const m = 7;
      const xs = Array.from({ length: n * d }, () => rng.normal());
      const ys = Array.from({ length: m * d }, () => rng.normal() + 1);
      const x = tf.tensor2d(xs, [n, d]);
      const y = tf.tensor2d(ys, [m, d]);
      // Naive reference: cost, normalization, plan from the typed sinkhorn, gradient by hand.
      const M: number[] = [];
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) M.push([0, 1, 2].reduce((s, k) => s + ((xs[i * d + k] as number) - (ys[j * d + k] as number)) ** 2, 0));
      const max = Math.max(...M);
      const plan = sinkhorn(new Array(n).fill(1 / n), new Array(m).fill(1 / m), { values: M.map((v) => v / max), rows: n, cols: m }, { epsilon: 0.1, method: 'log', maxIterations: 200 }).plan.flatMap((row) => Array.from(row));
      const value = plan.reduce((s, p, k) => s + p * (M[k] as number), 0) / max;
      const grad: number[] = [];
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < d; k++) {
          let s = 0;
          for (let j = 0; j < m; j++) s += (plan[i * m + j] as number) * 2 * ((xs[i * d + k] as number) - (ys[j * d + k] as number));
          grad.push(s / max);
        }
      }
      const loss = otLoss(x, y, { epsilon: 0.1 });
      expectClose(loss, value, { rtol: 1e-4, atol: 1e-6 });
      const g = tf.grad((v: tf.Tensor) => otLoss(v as tf.Tensor2D, y, { epsilon: 0.1 }))(x);
      expectClose(g, grad, { rtol: 1e-3, atol: 1e-5 });
      await expectNoLeak(() => otLoss(x, y));
      await expectNoLeak(() => tf.grad((v: tf.Tensor) => otLoss(v as tf.Tensor2D, y, { cost: 'cosine' }))(x));
      tf.dispose([x, y, loss, g]);
    });

    it('OtDistributionMatching: moves seeds toward the target class, reports acceptance, deterministic, no leaks', async () => {
      const s = observed({ stepSize: 1 });
      const req = { perClass: [0, 6, 10], head };
      const first = s.sampleWithReport(req, seededRng(1));
      const again = s.sampleWithReport(req, seededRng(1));
      expect(Array.from(again.samples.features.dataSync())).toEqual(Array.from(first.samples.features.dataSync()));
      const report = first.report;
      expect(report.map((r) => r.classIndex)).toEqual([1, 2]);
      for (const r of report) {
        expect(r.proposed).toBe(r.requested);
        expect(r.accepted).toBeLessThanOrEqual(r.proposed);
        expect(r.meanProbability).toBeGreaterThan(0);
        expect(r.meanProbability).toBeLessThanOrEqual(1);
        expect(r.accepted).toBeGreaterThan(0);
      }
      const labels = Array.from(first.samples.labels.dataSync());
      expect(labels.length).toBe(report.reduce((t, r) => t + r.accepted, 0));
      // Accepted samples are classified as their target class with probability ≥ τ.
      const probs = tf.tidy(() => tf.softmax(head(first.samples.features)).arraySync() as number[][]);
      probs.forEach((p, i) => expect(p[labels[i] as number]).toBeGreaterThanOrEqual(0.9));
      // T = 0 keeps the seeds (from larger classes): the steps are what makes samples acceptable.
      const still = observed({ steps: 0, threshold: 0 });
      const raw = still.sampleWithReport({ perClass: [0, 0, 10], head }, seededRng(1));
      expect(raw.report[0]?.meanProbability).toBeLessThan(first.report[1]?.meanProbability as number);
      // η = 0.1 absolute moves 0.5 in 5 steps: not enough to cross, so every proposal is rejected.
      const short = observed({ stepUnit: 'absolute' });
      const none = short.sampleWithReport(req, seededRng(1));
      expect(none.samples.features.shape).toEqual([0, d]);
      expect(none.report.map((r) => r.accepted)).toEqual([0, 0]);
      tf.dispose([none.samples.features, none.samples.labels]);
      short.dispose();
      await expectNoLeak(() => s.sample(req, seededRng(2)));
      tf.dispose([first.samples.features, first.samples.labels, again.samples.features, again.samples.labels, raw.samples.features, raw.samples.labels]);
      s.dispose();
      still.dispose();
    });
  });
}

describe('OtDistributionMatching seeds, modes, errors', () => {
  it("stepUnit 'latentNorm' (default) is scale-free: OT-only matching of data scaled by 100 gives 100× the samples", () => {
    const { x, y } = data();
    const run = (scale: number, stepUnit: 'latentNorm' | 'absolute'): { rows: number[]; report: ReturnType<OtDistributionMatching['sampleWithReport']> } => {
      const s = new OtDistributionMatching({ numClasses: 3, ceWeight: 0, threshold: 0, stepSize: 0.2, stepUnit });
      const batch = { features: tf.tensor2d(x.map((v) => v * scale), [y.length, d]), labels: tf.tensor1d(y, 'int32') };
      s.observe(batch);
      tf.dispose([batch.features, batch.labels]);
      const report = s.sampleWithReport({ perClass: [0, 5, 5], head }, seededRng(3));
      const rows = Array.from(report.samples.features.dataSync());
      tf.dispose([report.samples.features, report.samples.labels]);
      s.dispose();
      return { rows, report };
    };
    const small = run(1, 'latentNorm');
    const big = run(100, 'latentNorm');
    expectClose(big.rows, small.rows.map((v) => 100 * v), { rtol: 1e-3, atol: 1e-2 });
    // The step length is η·√(mean ‖y‖²) over every observed row (a naive loop).
    let sq = 0;
    for (const v of x) sq += v * v;
    const r = Math.sqrt(sq / y.length);
    expectClose([small.report.report[0]?.stepLength as number], [0.2 * r], { rtol: 1e-6 });
    expectClose([big.report.report[0]?.stepLength as number], [20 * r], { rtol: 1e-6 });
    // Absolute steps are not scale-free: the same η moves the scaled seeds 100× less relative to the data.
    const absSmall = run(1, 'absolute');
    const absBig = run(100, 'absolute');
    expect(absSmall.report.report[0]?.stepLength).toBe(0.2);
    const ratio = (absBig.report.report[0]?.meanDisplacement as number) / (absSmall.report.report[0]?.meanDisplacement as number);
    expect(ratio).toBeCloseTo(1, 3);
  });

  it('reports seeds per source class, confidence before the steps, displacement ≤ T·step length', () => {
    const s = observed({ stepSize: 0.5, threshold: 0 });
    const out = s.sampleWithReport({ perClass: [0, 6, 10], head }, seededRng(4));
    // Class 1 (12 rows) is seeded from class 0 only; class 2 (4 rows) from classes 0 and 1.
    expect(out.seedCounts.map((c) => c.reduce((a, b) => a + b, 0))).toEqual([6, 10]);
    expect(out.seedCounts[0]?.[1]).toBe(0);
    expect(out.seedCounts[0]?.[2]).toBe(0);
    expect(out.seedCounts[1]?.[2]).toBe(0);
    for (const e of out.report) {
      expect(e.meanDisplacement).toBeLessThanOrEqual(5 * e.stepLength + 1e-5);
      expect(e.meanDisplacement).toBeGreaterThan(0);
      expect(e.meanProbability).toBeGreaterThan(e.meanProbabilityBefore);
    }
    tf.dispose([out.samples.features, out.samples.labels]);
    // T = 0: the seeds are the proposals, so the confidence before equals the one after.
    const still = observed({ steps: 0, threshold: 0 });
    const raw = still.sampleWithReport({ perClass: [0, 3, 3], head }, seededRng(4));
    for (const e of raw.report) {
      expect(e.meanProbabilityBefore).toBeCloseTo(e.meanProbability, 6);
      expect(e.meanDisplacement).toBe(0);
    }
    tf.dispose([raw.samples.features, raw.samples.labels]);
    s.dispose();
    still.dispose();
  });

  it('seedClassWeights: ∝ 1 − β^{max(n_j − n_c, 0)}, zero for smaller classes', () => {
    const w = seedClassWeights([100, 10, 50], 1, 0.9);
    const raw = [1 - 0.9 ** 90, 0, 1 - 0.9 ** 40];
    const total = raw.reduce((s, v) => s + v, 0);
    expectClose(w, raw.map((v) => v / total), { rtol: 1e-12 });
    expect(Array.from(seedClassWeights([100, 10], 0, 0.9))).toEqual([0, 0]);
  });

  it('out-of-distribution mode matches the given target set', () => {
    const s = observed({ mode: 'outOfDistribution', ceWeight: 0, threshold: 0, steps: 10, stepSize: 0.5 });
    const target = tf.tensor2d([[0, 0, 8], [0, 0, 9], [0, 0, 8.5]]);
    expect(() => s.sample({ perClass: [0, 0, 4], head }, seededRng(0))).toThrow('expected a target set for class 2 (setTargetSet). Received: none');
    s.setTargetSet(2, target);
    const out = s.sample({ perClass: [0, 0, 4], head }, seededRng(0));
    const rows = out.features.arraySync() as number[][];
    // Pulled toward z ≈ 8.5 from seeds near the class 0/1 clusters (z ≈ 0).
    for (const r of rows) expect(r[2]).toBeGreaterThan(2);
    tf.dispose([target, out.features, out.labels]);
    s.dispose();
  });

  it('bad input gives LongTailError before any tensor', () => {
    const s = observed();
    const before = tf.memory().numTensors;
    expect(() => s.sample({ perClass: [0, 1, 0] }, seededRng(0))).toThrow(
      'expected request.head, the classifier head, for OT distribution matching. Received: head=undefined',
    );
    expect(() => s.sample({ perClass: [0, 1], head }, seededRng(0))).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(tf.memory().numTensors).toBe(before);
    const fresh = new OtDistributionMatching({ numClasses: 3 });
    expect(() => fresh.sample({ perClass: [0, 1, 0], head }, seededRng(0))).toThrow(expect.objectContaining({ code: 'NOT_FITTED' }));
    const partial = new OtDistributionMatching({ numClasses: 3 });
    const b = { features: tf.tensor2d([[1, 2, 3]]), labels: tf.tensor1d([0], 'int32') };
    partial.observe(b);
    expect(() => partial.sample({ perClass: [0, 1, 0], head }, seededRng(0))).toThrow(
      'expected class 1 to have at least 1 observed sample for in-distribution matching. Received: count=0',
    );
    const wide = { features: tf.tensor2d([[1, 2, 3, 4]]), labels: tf.tensor1d([0], 'int32') };
    expect(() => partial.observe(wide)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => new OtDistributionMatching({ numClasses: 3, beta: 1 })).toThrow('expected beta in [0, 1). Received: beta=1');
    expect(() => new OtDistributionMatching({ numClasses: 3, mode: 'both' as 'inDistribution' })).toThrow(/expected mode to be one of/);
    tf.dispose([b.features, b.labels, wide.features, wide.labels]);
    s.dispose();
    s.dispose();
    expect(() => s.observedCounts()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    fresh.dispose();
    partial.dispose();
  });

  it('cosine cost with dead (all-zero) latent rows: otLoss is finite with finite gradients, matching samples', async () => {
    // A zero row is at cosine distance 1 from everything (sklearn's cosine_distances); it used to fail with
    // "expected cost.values to be finite".
    const x = tf.tensor2d([[0, 0, 0], [1, 0.5, 0], [0, 2, 1]]);
    const y = tf.tensor2d([[1, 0, 0], [0, 0, 0], [0, 1, 1], [2, 1, 0]]);
    const loss = otLoss(x, y, { cost: 'cosine' });
    const g = tf.grad((v: tf.Tensor) => otLoss(v as tf.Tensor2D, y, { cost: 'cosine' }))(x);
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    for (const v of g.dataSync()) expect(Number.isFinite(v)).toBe(true);
    // Reference: ⟨P, M⟩ with M the typed cosine cost (zero rows → 1), normalized, and the typed plan.
    const M = cosine(x.arraySync(), y.arraySync());
    const plan = sinkhorn(undefined, undefined, normalizeByMax(M), { epsilon: 0.1, method: 'log', maxIterations: 200 }).plan;
    const value = plan.reduce((s, row, i) => s + row.reduce((t, p, j) => t + p * (M.values[i * 4 + j] as number), 0), 0);
    expectClose(loss, value, { rtol: 1e-4, atol: 1e-6 });
    await expectNoLeak(() => tf.grad((v: tf.Tensor) => otLoss(v as tf.Tensor2D, y, { cost: 'cosine' }))(x));
    tf.dispose([x, y, loss, g]);

    const s = new OtDistributionMatching({ numClasses: 3, cost: 'cosine', stepSize: 1, threshold: 0 });
    const { x: xs, y: ys } = data();
    // Dead latents: the first row of every class is all zeros.
    for (const c of [0, 1, 2]) xs.fill(0, ys.indexOf(c) * d, (ys.indexOf(c) + 1) * d);
    const batch = { features: tf.tensor2d(xs, [ys.length, d]), labels: tf.tensor1d(ys, 'int32') };
    s.observe(batch);
    const out = s.sampleWithReport({ perClass: [0, 3, 5], head }, seededRng(3));
    expect(out.report.map((r) => r.accepted)).toEqual([3, 5]);
    for (const v of out.samples.features.dataSync()) expect(Number.isFinite(v)).toBe(true);
    tf.dispose([batch.features, batch.labels, out.samples.features, out.samples.labels]);
    s.dispose();
  });

  it('unknown option keys are rejected (otLoss, OtDistributionMatching)', () => {
    const x = tf.tensor2d([[0, 1]]);
    expect(() => otLoss(x, x, { iteration: 10 } as never)).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_OPTION', message: expect.stringContaining('Received: iteration (did you mean iterations?)') }),
    );
    expect(() => new OtDistributionMatching({ numClasses: 2, sinkhornIteration: 5 } as never)).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_OPTION', message: expect.stringContaining('(did you mean sinkhornIterations?)') }),
    );
    x.dispose();
  });

  it('reservoir memory is bounded and counts every observed row; config round-trips', () => {
    const s = observed({ reservoirSize: 5 });
    expect(Array.from(s.observedCounts())).toEqual([40, 12, 4]);
    const back = synthRegistry.fromConfig(toConfig(s));
    expect(back).toBeInstanceOf(OtDistributionMatching);
    expect(toConfig(back)).toEqual(toConfig(s));
    s.dispose();
    back.dispose();
  });
});
