import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import golden from '../golden/head_init.json';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import type { LabeledData } from '../../src/data/types.js';
import { balancedAccuracy } from '../../src/metrics/classification.js';
import { cosineHead, initFromClassMeans, initFromLinearProbe, linearHead, type InitializableHead } from '../../src/models/index.js';
import { ltls } from '../../src/recipes/ltls.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { expectError } from '../helpers/errors.js';

const D = golden.D;
const C = golden.C;

/** Rows [C][D] of a head's kernel [D, C]. */
const rowsOf = (head: InitializableHead): number[][] => {
  const k = head.kernel.arraySync() as number[][];
  return Array.from({ length: head.numClasses }, (_, j) => k.map((row) => row[j] as number));
};

const argmaxRows = (t: tf.Tensor2D): number[] => (t.arraySync() as number[][]).map((r) => r.indexOf(Math.max(...r)));

/** Naive nearest class mean: Euclidean or cosine. */
function naiveNcm(x: number[][], means: number[][], metric: 'euclidean' | 'cosine'): number[] {
  const norm = (v: number[]): number => Math.sqrt(v.reduce((a, u) => a + u * u, 0));
  return x.map((row) => {
    const scores = means.map((m) => (metric === 'euclidean' ? -row.reduce((a, v, k) => a + (v - (m[k] as number)) ** 2, 0) : row.reduce((a, v, k) => a + v * (m[k] as number), 0) / (norm(row) * norm(m))));
    return scores.indexOf(Math.max(...scores));
  });
}

/** A long-tailed Gaussian toy problem in `d` dimensions (seeded): train 60/15/6/3, test 50 per class. */
function toy(seed: number): { train: { x: number[][]; y: number[] }; test: { x: number[][]; y: number[] } } {
  const rng = seededRng(seed);
  const d = 6;
  const centres = Array.from({ length: 4 }, () => Array.from({ length: d }, () => 1.2 * rng.normal()));
  const draw = (sizes: number[]): { x: number[][]; y: number[] } => {
    const x: number[][] = [];
    const y: number[] = [];
    sizes.forEach((n, c) => {
      for (let i = 0; i < n; i++) {
        x.push((centres[c] as number[]).map((m) => m + rng.normal()));
        y.push(c);
      }
    });
    return { x, y };
  };
  return { train: draw([60, 15, 6, 3]), test: draw([50, 50, 50, 50]) };
}

describe.each(backendsUnderTest())('head initialisation (%s)', (backend) => {
  let data: LabeledData;
  beforeAll(async () => {
    await useBackend(backend);
    data = { x: tf.tensor2d(golden.x), y: Int32Array.from(golden.labels) };
  });

  it('linear probe: the balanced logistic regression of scikit-learn (class_weight="balanced"), coefficients and intercepts', async () => {
    for (const [creg, want] of Object.entries(golden.probes)) {
      await expectNoLeak(() => {
        const head = linearHead({ inputDim: D, numClasses: C, rng: seededRng(1) });
        const probe = initFromLinearProbe(head, data, { inverseRegularization: Number(creg), maxIterations: 2000, tolerance: 1e-9 });
        expectClose(probe.coef.map((r) => Array.from(r)), want.coef, { rtol: 1e-4, atol: 1e-5, name: `coef C=${creg}` });
        expectClose(Array.from(probe.intercept), want.intercept, { rtol: 1e-4, atol: 1e-5, name: `intercept C=${creg}` });
        // scikit-learn's own stopping point is within 1e-3 of the optimum.
        expectClose(probe.coef.map((r) => Array.from(r)), want.sklearnCoef, { rtol: 0, atol: 1e-3, name: 'vs sklearn coef_' });
        expectClose(Array.from(probe.intercept), want.sklearnIntercept, { rtol: 0, atol: 1e-3, name: 'vs sklearn intercept_' });
        expectClose(rowsOf(head), want.coef, { rtol: 1e-4, atol: 1e-5 });
        expectClose(head.bias as tf.Tensor, want.intercept, { rtol: 1e-4, atol: 1e-5 });
        // LIFT+'s own form: F.normalize(coef_) and no bias; a cosine head always gets it.
        initFromLinearProbe(head, data, { inverseRegularization: Number(creg), maxIterations: 2000, tolerance: 1e-9, normalize: true });
        expectClose(rowsOf(head), want.normalized, { rtol: 1e-4, atol: 1e-5 });
        expect(Array.from((head.bias as tf.Variable).dataSync())).toEqual([0, 0, 0]);
        const cos = cosineHead({ inputDim: D, numClasses: C, rng: seededRng(1) });
        initFromLinearProbe(cos, data, { inverseRegularization: Number(creg), maxIterations: 2000, tolerance: 1e-9 });
        expectClose(rowsOf(cos), want.normalized, { rtol: 1e-4, atol: 1e-5 });
        head.dispose();
        cos.dispose();
      });
    }
  });

  it('class means: the nearest-class-mean classifier exactly (Euclidean for linear heads, cosine for cosine heads); LIFT+ normalization', async () => {
    await expectNoLeak(() => {
      const probe = Array.from({ length: 200 }, (_, i) => Array.from({ length: D }, (_, k) => Math.sin(i * 1.7 + k * 2.3) * 3));
      const points = tf.tensor2d([...golden.x, ...probe]);
      const all = [...golden.x, ...probe];
      const head = linearHead({ inputDim: D, numClasses: C, rng: seededRng(2) });
      initFromClassMeans(head, data);
      expectClose(rowsOf(head), golden.classMeans, { rtol: 1e-5, atol: 1e-6 });
      const z = head.apply(points);
      expect(argmaxRows(z)).toEqual(naiveNcm(all, golden.classMeans, 'euclidean'));
      const cos = cosineHead({ inputDim: D, numClasses: C, rng: seededRng(2) });
      initFromClassMeans(cos, data);
      expectClose(rowsOf(cos), golden.classMeansNormalized, { rtol: 1e-5, atol: 1e-6 });
      const zc = cos.apply(points);
      expect(argmaxRows(zc)).toEqual(naiveNcm(all, golden.classMeans, 'cosine'));
      initFromClassMeans(head, data, { normalize: true });
      expectClose(rowsOf(head), golden.classMeansNormalized, { rtol: 1e-5, atol: 1e-6 });
      expect(Array.from((head.bias as tf.Variable).dataSync())).toEqual([0, 0, 0]);
      tf.dispose([points, z, zc]);
      head.dispose();
      cos.dispose();
    });
  });

  it('a class absent from the data keeps its vector', () => {
    const head = linearHead({ inputDim: D, numClasses: C + 1, rng: seededRng(3) });
    const before = rowsOf(head)[C];
    initFromClassMeans(head, data);
    expect(rowsOf(head)[C]).toEqual(before);
    head.dispose();
  });

  it('linear-probe init beats random init at 0 training epochs (balanced accuracy on a balanced held-out set), deterministically', async () => {
    const { train, test } = toy(11);
    const tr: LabeledData = { x: tf.tensor2d(train.x), y: Int32Array.from(train.y) };
    const te = tf.tensor2d(test.x);
    const score = (head: InitializableHead): number => {
      const z = head.apply(te);
      const predictions = Int32Array.from(argmaxRows(z));
      z.dispose();
      return balancedAccuracy({ predictions, labels: Int32Array.from(test.y), numClasses: 4 });
    };
    await expectNoLeak(() => {
      const random = linearHead({ inputDim: 6, numClasses: 4, rng: seededRng(5) });
      const probed = linearHead({ inputDim: 6, numClasses: 4, rng: seededRng(5) });
      const again = linearHead({ inputDim: 6, numClasses: 4, rng: seededRng(6) });
      initFromLinearProbe(probed, tr);
      initFromLinearProbe(again, tr);
      const [r, p] = [score(random), score(probed)];
      expect(p, `probe ${p} vs random ${r}`).toBeGreaterThan(r + 0.2);
      expect(Array.from(again.kernel.dataSync())).toEqual(Array.from(probed.kernel.dataSync()));
      [random, probed, again].forEach((h) => h.dispose());
    });
    tr.x.dispose();
    te.dispose();
  });

  it('ltls headInit: the head starts from the class means / the linear probe of the real training features', async () => {
    const { train } = toy(12);
    const tr: LabeledData = { x: tf.tensor2d(train.x), y: Int32Array.from(train.y) };
    await expectNoLeak(async () => {
      for (const headInit of ['classMeans', 'linearProbe'] as const) {
        // lr 1e-12: the trained head is the initialised one.
        const run = ltls({ seed: 0, numClasses: 4, featureDim: 6, headInit, epochs: 1, batchSize: 512, optimizer: { kind: 'sgd', learningRate: 1e-12 }, progress: 'none' });
        await run.fit(tr);
        const ref = linearHead({ inputDim: 6, numClasses: 4, rng: seededRng(9) });
        if (headInit === 'classMeans') initFromClassMeans(ref, tr);
        else initFromLinearProbe(ref, tr);
        const head = run.model.classifierHead as InitializableHead;
        expectClose(head.kernel, Array.from(ref.kernel.dataSync()), { rtol: 1e-5, atol: 1e-6, name: headInit });
        expect(run.config['headInit']).toBe(headInit);
        ref.dispose();
        run.dispose();
      }
    });
    tr.x.dispose();
  });

  it('bad input: LongTailError before any tensor', () => {
    const head = linearHead({ inputDim: D, numClasses: C, rng: seededRng(1) });
    const wide: LabeledData = { x: tf.zeros([2, D + 1]), y: Int32Array.from([0, 1]) };
    expectError(() => initFromClassMeans(head, wide), 'SHAPE_MISMATCH', `expected data.x of shape [N, ${D}]. Received: data.x.shape=[2, ${D + 1}]`);
    expectError(() => initFromClassMeans(head, { x: data.x, y: Int32Array.from([0]) }), 'SHAPE_MISMATCH', `expected labels length = rows of data.x = ${golden.labels.length}. Received: data.y.length=1`);
    expectError(() => initFromClassMeans(head, data, { normalise: true } as never), 'UNKNOWN_OPTION', 'expected initFromClassMeans options to be among normalize. Received: normalise (did you mean normalize?)');
    expectError(() => initFromLinearProbe(head, data, { maxIteration: 3 } as never), 'UNKNOWN_OPTION', 'expected initFromLinearProbe options to be among inverseRegularization, maxIterations, tolerance, normalize. Received: maxIteration (did you mean maxIterations?)');
    expectError(() => initFromLinearProbe(head, data, { inverseRegularization: 0 }), 'INVALID_OPTION', 'expected inverseRegularization > 0. Received: inverseRegularization=0');
    expectError(() => initFromClassMeans({ kind: 'auxiliary' } as never, data), 'INVALID_OPTION', 'expected head to be a linear or cosine head. Received: head.kind="auxiliary"');
    expectError(() => ltls({ seed: 0, numClasses: 2, featureDim: 2, headInit: 'mean' as never }), 'INVALID_OPTION', 'expected headInit to be one of "random", "classMeans", "linearProbe". Received: headInit="mean"');
    wide.x.dispose();
    head.dispose();
  });

  it('frees the data', () => {
    data.x.dispose();
  });
});
