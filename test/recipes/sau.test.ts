import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import golden from '../golden/sau.json';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { cutmix, cutmixView, mixup, mixupView, withFlags, type LabeledData } from '../../src/data/index.js';
import { crossEntropyLoss, evaluateLoss, viewCrossEntropyLoss } from '../../src/losses/index.js';
import type { EvaluationReport } from '../../src/metrics/report.js';
import { classifier, linearHead, mlpBackbone } from '../../src/models/index.js';
import {
  correctSyntheticLabels,
  sau,
  sauContrastive,
  type NeighborMetric,
  type NoisyStrategy,
  type SauOptions,
} from '../../src/recipes/sau.js';
import { LatentSmote } from '../../src/synth/index.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';
import { trainer } from '../../src/train/trainer.js';
import { expectError } from '../helpers/errors.js';
import { plainCrossEntropy, standardizedSubset } from '../helpers/fmnist.js';

// ---------------------------------------------------------------------------------------------------
// Naive references (plain loops, written from the official SCL / MixLoss, not from our code).
// ---------------------------------------------------------------------------------------------------

type Vec = number[];
const dotv = (a: Vec, b: Vec): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
const norm = (a: Vec): number => Math.sqrt(dotv(a, a));

/** 1-NN label among `ref` (first wins ties). */
function nearestLabel(q: Vec, ref: Vec[], refLabels: number[], metric: NeighborMetric): number {
  let best = -1;
  let bestScore = -Infinity;
  ref.forEach((r, j) => {
    const score = metric === 'cosine' ? dotv(q, r) / (norm(q) * norm(r)) : -r.reduce((s, v, t) => s + (v - (q[t] as number)) ** 2, 0);
    if (score > bestScore) {
      bestScore = score;
      best = j;
    }
  });
  return refLabels[best] as number;
}

interface NaiveInput {
  features: Vec[][]; // [N][V][d]
  labels: number[];
  synthetic: number[];
  prototypes: Vec[][] | null; // [K][V][d]
  prototypeLabels: number[];
  metric: NeighborMetric;
  strategy: NoisyStrategy;
  temperature: number;
}

/** The official SCL.forward, as loops: relabel by 1-NN in both views, then SupCon over all rows. */
function naiveSau(inp: NaiveInput): { loss: number; noisy: number[] } {
  const views = (inp.features[0] as Vec[]).length;
  const realRows: Vec[][] = [];
  const realLabels: number[] = [];
  inp.features.forEach((f, i) => {
    if (inp.synthetic[i] === 0) {
      realRows.push(f);
      realLabels.push(inp.labels[i] as number);
    }
  });
  if (inp.prototypes !== null) {
    inp.prototypes.forEach((p, k) => {
      realRows.push(p);
      realLabels.push(inp.prototypeLabels[k] as number);
    });
  }
  const noisy = inp.labels.map(() => 0);
  const rows: { f: Vec[]; label: number; weight: number }[] = realRows.map((f, r) => ({ f, label: realLabels[r] as number, weight: 1 }));
  let k = 0;
  inp.features.forEach((f, i) => {
    if (inp.synthetic[i] === 0) return;
    const y = inp.labels[i] as number;
    let clean = true;
    for (let v = 0; v < views; v++) {
      const ref = realRows.map((r) => r[v] as Vec);
      if (ref.length > 0 && nearestLabel(f[v] as Vec, ref, realLabels, inp.metric) !== y) clean = false;
    }
    if (clean) {
      rows.push({ f, label: y, weight: 1 });
      return;
    }
    noisy[i] = 1;
    if (inp.strategy === 'posNeg') rows.push({ f, label: -1 - k++, weight: 1 });
    if (inp.strategy === 'negOnly') rows.push({ f, label: -1, weight: 0 });
  });
  // Anchors in view-major order.
  const anchors: { f: Vec; label: number; weight: number }[] = [];
  for (let v = 0; v < views; v++) for (const r of rows) anchors.push({ f: r.f[v] as Vec, label: r.label, weight: r.weight });
  let sum = 0;
  let wsum = 0;
  anchors.forEach((a, ai) => {
    let denom = 0;
    anchors.forEach((b, bi) => {
      if (bi !== ai) denom += Math.exp(dotv(a.f, b.f) / inp.temperature);
    });
    let pos = 0;
    let acc = 0;
    anchors.forEach((b, bi) => {
      if (bi !== ai && b.label === a.label) {
        pos++;
        acc += dotv(a.f, b.f) / inp.temperature - Math.log(denom);
      }
    });
    const l = pos === 0 ? 0 : -acc / pos;
    sum += a.weight * l;
    wsum += a.weight;
  });
  return { loss: sum / wsum, noisy };
}

const goldenInput = (metric: NeighborMetric, strategy: NoisyStrategy, withPrototypes: boolean): NaiveInput => ({
  features: golden.features,
  labels: golden.labels,
  synthetic: golden.synthetic,
  prototypes: withPrototypes ? golden.prototypes : null,
  prototypeLabels: golden.prototypeLabels,
  metric,
  strategy,
  temperature: golden.temperature,
});

/** Soft-target CE −(1/B) Σ_i Σ_j t_ij log softmax(z_i)_j, as loops. */
function naiveSoftCe(z: number[][], t: number[][]): number {
  let s = 0;
  z.forEach((row, i) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    row.forEach((v, j) => (s -= ((t[i] as number[])[j] as number) * (v - lse)));
  });
  return s / z.length;
}

/** A copy of `o` without `keys` (exactOptionalPropertyTypes forbids setting them to undefined). */
function omit<T extends object, K extends keyof T>(o: T, ...keys: K[]): Omit<T, K> {
  const out = { ...o };
  for (const k of keys) delete out[k];
  return out;
}


// ---------------------------------------------------------------------------------------------------
// Label correction and the three noisy-sample strategies on hand-made projections.
// ---------------------------------------------------------------------------------------------------

for (const backend of backendsUnderTest()) {
  describe(`sau contrastive branch (${backend})`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('label correction: clean only when the nearest neighbour agrees in both views', () => {
      // d = 2, one view: the reference point (0, 1) of class 1 is nearest to (0.1, 1).
      const ref = Float32Array.from([1, 0, 0, 1]);
      const one = correctSyntheticLabels({
        dim: 2,
        reference: [ref],
        referenceLabels: Int32Array.from([0, 1]),
        candidates: [Float32Array.from([0.1, 1, 0.9, 0.2])],
        candidateLabels: Int32Array.from([1, 1]),
      });
      expect(Array.from(one)).toEqual([1, 0]);
      // Two views: the second view of candidate 0 points at class 0, so it becomes noisy.
      const two = correctSyntheticLabels({
        dim: 2,
        reference: [ref, ref],
        referenceLabels: Int32Array.from([0, 1]),
        candidates: [Float32Array.from([0.1, 1, 0.1, 1]), Float32Array.from([1, 0.1, 0.1, 1])],
        candidateLabels: Int32Array.from([1, 1]),
      });
      expect(Array.from(two)).toEqual([0, 1]);
      // Cosine ignores length, Euclidean does not: a short prototype along the query vs a long point near it.
      const metricCase = {
        dim: 2,
        reference: [Float32Array.from([0.3, 0.01, 1, 0.3])],
        referenceLabels: Int32Array.from([0, 1]),
        candidates: [Float32Array.from([1, 0])],
        candidateLabels: Int32Array.from([0]),
      };
      expect(Array.from(correctSyntheticLabels({ ...metricCase, metric: 'cosine' }))).toEqual([1]);
      expect(Array.from(correctSyntheticLabels({ ...metricCase, metric: 'euclidean' }))).toEqual([0]);
      // Ties go to the first reference point; no reference point: nothing contradicts the label.
      const tie = { dim: 1, reference: [Float32Array.from([1, 1])], candidates: [Float32Array.from([1])], candidateLabels: Int32Array.from([1]) };
      expect(Array.from(correctSyntheticLabels({ ...tie, referenceLabels: Int32Array.from([0, 1]) }))).toEqual([0]);
      expect(Array.from(correctSyntheticLabels({ ...tie, referenceLabels: Int32Array.from([1, 0]) }))).toEqual([1]);
      expect(Array.from(correctSyntheticLabels({ ...tie, reference: [new Float32Array(0)], referenceLabels: new Int32Array(0) }))).toEqual([1]);
    });

    for (const c of golden.cases) {
      const name = `${c.strategy}, ${c.metric}, ${c.prototypes ? 'with' : 'without'} prototypes`;
      it(`loss and noisy flags vs PyTorch and a naive loop: ${name}`, async () => {
        const strategy = c.strategy as NoisyStrategy;
        const metric = c.metric as NeighborMetric;
        await expectNoLeak(() => {
          const projections = tf.tensor3d(golden.features);
          const protoFeatures = tf.tensor3d(golden.prototypes);
          const prototypes = c.prototypes ? { features: protoFeatures, labels: Int32Array.from(golden.prototypeLabels) } : null;
          const labels = tf.tensor1d(golden.labels, 'int32');
          const out = sauContrastive(projections, {
            labels,
            synthetic: Uint8Array.from(golden.synthetic),
            prototypes,
            strategy,
            metric,
            temperature: golden.temperature,
          });
          const naive = naiveSau(goldenInput(metric, strategy, c.prototypes));
          expect(Array.from(out.noisy)).toEqual(c.noisy);
          expect(naive.noisy).toEqual(c.noisy);
          expectClose(naive.loss, c.loss, { rtol: 1e-9, name: 'naive vs PyTorch' });
          expectClose(out.loss, c.loss, { rtol: 1e-5, name: 'loss vs PyTorch' });
          out.loss.dispose();
          projections.dispose();
          protoFeatures.dispose();
          labels.dispose();
        });
      });
    }

    it('strategies differ only through the noisy samples; gradients reach exactly the rows in the loss', () => {
      const losses = new Map<string, number>();
      const noisyRows = golden.noisyRowsCosine as number[];
      for (const strategy of ['drop', 'posNeg', 'negOnly'] as const) {
        const projections = tf.tensor3d(golden.features);
        const protos = { features: tf.tensor3d(golden.prototypes), labels: Int32Array.from(golden.prototypeLabels) };
        const opts = { labels: tf.tensor1d(golden.labels, 'int32'), synthetic: Uint8Array.from(golden.synthetic), prototypes: protos, strategy };
        const grad = tf.grad((p: tf.Tensor) => sauContrastive(p as tf.Tensor3D, opts).loss)(projections);
        const g = grad.arraySync() as number[][][];
        const rowNorm = g.map((r) => Math.hypot(...r.flat()));
        noisyRows.forEach((i) => {
          // Dropped rows get no gradient; kept noisy rows (as their own class, or as negatives) do.
          if (strategy === 'drop') expect(rowNorm[i]).toBe(0);
          else expect(rowNorm[i]).toBeGreaterThan(1e-4);
        });
        golden.labels.forEach((_, i) => {
          if (!noisyRows.includes(i)) expect(rowNorm[i]).toBeGreaterThan(1e-4);
        });
        const loss = sauContrastive(projections, opts).loss;
        losses.set(strategy, loss.dataSync()[0] as number);
        tf.dispose([projections, protos.features, grad, loss, opts.labels]);
      }
      expect(new Set(losses.values()).size).toBe(3);
      // Without synthetic samples the three coincide, and equal plain SupCon over [real; prototypes].
      const realOnly = Uint8Array.from(golden.synthetic.map(() => 0));
      const values = (['drop', 'posNeg', 'negOnly'] as const).map((strategy) =>
        tf.tidy(() => {
          const protos = { features: tf.tensor3d(golden.prototypes), labels: Int32Array.from(golden.prototypeLabels) };
          return sauContrastive(tf.tensor3d(golden.features), { labels: tf.tensor1d(golden.labels, 'int32'), synthetic: realOnly, prototypes: protos, strategy }).loss.dataSync()[0] as number;
        }),
      );
      const naive = naiveSau({ ...goldenInput('cosine', 'drop', true), synthetic: Array.from(realOnly) }).loss;
      for (const v of values) expectClose(v, naive, { rtol: 1e-5 });
    });

    it('the mix branch: MixUp then CutMix views from one stream, soft-target CE of each (naive loops)', async () => {
      // The naive soft CE itself against PyTorch.
      const g = golden.softCe;
      const t = g.labels.map((y, i) => [0, 1, 2].map((j) => (j === y ? g.lambda : 0) + (j === g.labels[g.permutation[i] as number] ? 1 - g.lambda : 0)));
      expectClose(naiveSoftCe(g.logits, t), g.value, { rtol: 1e-12 });
      const images = tf.tensor4d(Array.from({ length: 6 * 4 * 4 }, (_, i) => Math.sin(i * 0.7)), [6, 4, 4, 1]);
      const labels = Int32Array.from([0, 1, 2, 0, 1, 2]);
      const w = tf.tensor2d(Array.from({ length: 16 * 3 }, (_, i) => Math.cos(i * 0.3)), [16, 3]);
      const logitsOf = (x: tf.Tensor): tf.Tensor2D => tf.matMul(tf.reshape(x, [x.shape[0] ?? 0, 16]), w);
      await expectNoLeak(() => {
        // The trainer runs the views in order on one stream: MixUp's λ and partners, then CutMix's.
        const rng = seededRng(9);
        const mv = mixupView({ numClasses: 3 })({ x: images, labels, rng });
        const cv = cutmixView({ numClasses: 3, adjustLambda: false })({ x: images, labels, rng });
        const y = tf.tensor1d(labels, 'int32');
        const out = tf.tidy(() => {
          const view = (v: { x: tf.Tensor; targets?: tf.Tensor2D }) => ({ logits: logitsOf(v.x), targets: v.targets as tf.Tensor2D, labels: y, labelValues: labels, synthetic: new Uint8Array(6) });
          const r = evaluateLoss(viewCrossEntropyLoss({ views: ['mixup', 'cutmix'] }), { views: { mixup: view(mv), cutmix: view(cv) } });
          return { total: r.total, terms: r.terms, counts: r.counts };
        });
        const replay = seededRng(9);
        const m = mixup(images, labels, { numClasses: 3, rng: replay });
        const c = cutmix(images, labels, { numClasses: 3, rng: replay, adjustLambda: false });
        const asRows = (x: tf.Tensor): number[][] => x.arraySync() as number[][];
        const zm = tf.tidy(() => logitsOf(m.images));
        const zc = tf.tidy(() => logitsOf(c.images));
        expectClose(out.terms['mixup'] as tf.Scalar, naiveSoftCe(asRows(zm), asRows(m.targets)), { rtol: 1e-5 });
        expectClose(out.terms['cutmix'] as tf.Scalar, naiveSoftCe(asRows(zc), asRows(c.targets)), { rtol: 1e-5 });
        expectClose(out.total, naiveSoftCe(asRows(zm), asRows(m.targets)) + naiveSoftCe(asRows(zc), asRows(c.targets)), { rtol: 1e-5 });
        // CutMix keeps the sampled λ for its targets (the official code), and the box really cuts.
        expect(c.lambda).toBe(c.sampledLambda);
        tf.dispose([out.total, ...Object.values(out.terms), ...Object.values(out.counts), mv.x, mv.targets as tf.Tensor, cv.x, cv.targets as tf.Tensor, y]);
        tf.dispose([m.images, m.targets, c.images, c.targets, zm, zc]);
      });
      tf.dispose([images, w]);
    });

    it('bad input: pinned errors before any tensor is made', () => {
      const p = tf.tensor3d(golden.features);
      const two = tf.tensor1d([0, 1], 'int32');
      const base = { labels: tf.tensor1d(golden.labels, 'int32'), synthetic: Uint8Array.from(golden.synthetic) };
      expectError(() => sauContrastive(p, { ...base, labels: two }), 'SHAPE_MISMATCH', 'expected labels.shape[0] = projections.shape[0] = 8. Received: labels.shape[0]=2');
      expectError(() => sauContrastive(p, { ...base, strategy: 'pos_neg' as NoisyStrategy }), 'INVALID_OPTION', 'expected strategy to be one of "drop", "posNeg", "negOnly". Received: strategy="pos_neg"');
      expectError(() => sauContrastive(p, { ...base, temperature: 0 }), 'INVALID_OPTION', 'expected temperature > 0. Received: temperature=0');
      const narrow = tf.zeros([3, 2, 2]) as tf.Tensor3D;
      expectError(
        () => sauContrastive(p, { ...base, prototypes: { features: narrow, labels: Int32Array.from([0, 1, 2]) } }),
        'SHAPE_MISMATCH',
        'expected prototypes width = projections width = 3. Received: prototypes.features.shape[2]=2',
      );
      expectError(
        () => correctSyntheticLabels({ dim: 2, reference: [new Float32Array(2)], referenceLabels: Int32Array.from([0]), candidates: [], candidateLabels: new Int32Array(0) }),
        'SHAPE_MISMATCH',
        'expected candidates.length (views) = reference.length = 1. Received: candidates.length=0',
      );
      tf.dispose([p, narrow, two, base.labels]);
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// The recipe on the shipped long-tailed Fashion-MNIST subset (784-d pixels seen as 28×28 images).
// ---------------------------------------------------------------------------------------------------

const SEEDS = [0, 1, 2];
const EPOCHS = 2;
const BATCH = 256;
const TOP_UP = 300;
const OPTIMIZER = { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 } as const;
/** Small sizes for the 2-core test budget (the defaults are a 256-unit MLP and a 2048-2048-128 projection). */
const SMALL = { hiddenSizes: [128], projectionHiddenSizes: [64], projectionDim: 32, augmentation: 'flip' } as const;

describe('sau on the Fashion-MNIST-LT subset (wasm)', () => {
  let train: LabeledData;
  let test: LabeledData;
  let counts: number[];
  /** At most 30 samples per class (239 images), for the runs that check plumbing rather than accuracy. */
  let tiny: LabeledData;
  let tinyCounts: number[];

  beforeAll(async () => {
    await useBackend('wasm');
    ({ train, test } = await standardizedSubset());
    counts = new Array<number>(10).fill(0);
    for (const y of train.y) counts[y] = (counts[y] as number) + 1;
    const seen = new Array<number>(10).fill(0);
    const rows: number[] = [];
    train.y.forEach((y, i) => {
      if ((seen[y] as number) < 30) rows.push(i);
      seen[y] = (seen[y] as number) + 1;
    });
    tiny = { x: tf.gather(train.x, rows), y: Int32Array.from(rows, (i) => train.y[i] as number) };
    tinyCounts = counts.map((n) => Math.min(n, 30));
  });

  afterAll(() => {
    tf.dispose([train.x, test.x, tiny.x]);
  });

  const recipe = (seed: number, extra: Partial<SauOptions> = {}, without: readonly (keyof SauOptions)[] = []) =>
    sau(
      omit({
      seed,
      numClasses: 10,
      inputShape: [784],
      imageShape: [28, 28, 1],
      synthesizer: { kind: 'latentSmote', config: {} },
      topUp: { kind: 'toCount', count: TOP_UP },
      epochs: EPOCHS,
      batchSize: BATCH,
      optimizer: OPTIMIZER,
      progress: 'none',
      ...SMALL,
      ...extra,
    } as SauOptions, ...without) as SauOptions,
    );

  /** Plain CE, same MLP and optimizer, on the real data, for as many optimizer steps as SAU takes. */
  async function plainCE(seed: number, epochs: number): Promise<number> {
    return plainCrossEntropy({ train, test, rng: seededRng(seed), hidden: 128, numClasses: 10, trainer: { seed, epochs, batchSize: BATCH, optimizer: OPTIMIZER } });
  }

  it('beats plain cross-entropy given the same optimizer steps on balanced accuracy, per seed, and frees everything', async () => {
    const synthetic = counts.reduce((s, n) => s + Math.max(TOP_UP - n, 0), 0);
    const sauSteps = EPOCHS * Math.ceil((train.y.length + synthetic) / BATCH);
    // CE sees fewer samples per epoch; give it at least as many steps (a stricter bar than equal epochs).
    const ceEpochs = Math.ceil(sauSteps / Math.ceil(train.y.length / BATCH));
    const lines: string[] = [];
    for (const seed of SEEDS) {
      let report: EvaluationReport | undefined;
      await expectNoLeak(async () => {
        const run = recipe(seed);
        const history = await run.fit(train);
        report = run.evaluate(test);
        expect(history.epochs).toHaveLength(EPOCHS);
        expect(Object.keys(history.epochs[0] ?? {})).toEqual(expect.arrayContaining(['loss/mix', 'loss/contrastive', 'count/synthetic', 'count/noisy']));
        const stats = run.labelCorrection;
        expect(stats.map((s) => s.synthetic)).toEqual(new Array<number>(EPOCHS).fill(synthetic));
        for (const s of stats) expect(s.noisy).toBeLessThan(s.synthetic);
        // Groups follow the real counts (600 … 6), not the topped-up ones.
        expect(report.groups?.few.numClasses).toBe(counts.filter((n) => n < 20).length);
        run.dispose();
        run.dispose(); // idempotent
        expect(() => run.evaluate(test)).toThrow(/after dispose/);
      });
      const ce = await plainCE(seed, ceEpochs);
      const ours = (report as EvaluationReport).balancedAccuracy;
      lines.push(`seed ${seed}: sau ${ours} vs CE ${ce} (${sauSteps} vs ${ceEpochs * Math.ceil(train.y.length / BATCH)} steps)`);
      expect(ours, lines.join('; ')).toBeGreaterThan(ce);
      if (process.env['SAU_PRINT'] !== undefined) console.log(lines.at(-1)); // SAU_PRINT=1 shows the numbers
    }
  }, 120_000);

  it('is deterministic: the same seed gives the same report and label-correction counts', async () => {
    const once = async (seed: number) => {
      const run = recipe(seed, { epochs: 2, batchSize: 128, topUp: { kind: 'toCount', count: 30 } });
      await run.fit(tiny);
      const out = { report: run.evaluate(test), stats: run.labelCorrection };
      run.dispose();
      return out;
    };
    const a = await once(4);
    const b = await once(4);
    const c = await once(5);
    expect(b.report.perClass).toEqual(a.report.perClass);
    expect(b.report.balancedAccuracy).toBe(a.report.balancedAccuracy);
    expect(b.report.ece).toBe(a.report.ece);
    expect(b.stats).toEqual(a.stats);
    expect(c.report.ece).not.toBe(a.report.ece);
  }, 60_000);

  it('resumes bit-identically from a trainer state (prototypes are rebuilt from the weights)', async () => {
    const small = { epochs: 2, batchSize: 128, topUp: { kind: 'toCount', count: 30 } } as const;
    const straight = recipe(6, small);
    await straight.fit(tiny);
    const first = recipe(6, { ...small, epochs: 1 });
    await first.fit(tiny);
    const state = first.trainer.state();
    first.dispose();
    const resumed = recipe(6, small);
    resumed.trainer.restore(state);
    await resumed.fit(tiny);
    const weights = (r: typeof straight): number[] => r.model.variables.flatMap((v) => Array.from(v.dataSync()));
    expect(weights(resumed)).toEqual(weights(straight));
    const [a, b] = [straight.prototypes(), resumed.prototypes()];
    expect(Array.from(b?.features.dataSync() ?? [])).toEqual(Array.from(a?.features.dataSync() ?? [0]));
    tf.dispose([a?.features, b?.features].filter((t): t is tf.Tensor3D => t !== undefined));
    straight.dispose();
    resumed.dispose();
  }, 30_000);

  it('prototypes are per-class means of the real projections in each view (synthetic ones excluded)', async () => {
    // No hidden projection layer (so no batch-norm statistics move), zero loss weights and no weight
    // decay: the model does not change, so the epoch-start prototypes equal the final model's means.
    const real = { x: tf.slice(train.x, 0, 600 + 359 + 215), y: train.y.subarray(0, 600 + 359 + 215) };
    const fake: LabeledData = { x: tf.onesLike(tf.slice(train.x, 0, 40)), y: Int32Array.from({ length: 40 }, (_, i) => i % 10) };
    const run = recipe(1, {
      synthetic: fake,
      projectionHiddenSizes: [],
      augmentation: 'none',
      lossWeights: { mix: 0, contrastive: 0 },
      optimizer: { kind: 'adam', learningRate: 1e-3 },
      epochs: 1,
    }, ['synthesizer']);
    await run.fit(real);
    const protos = run.prototypes();
    expect(protos).not.toBeNull();
    const { features, labels } = protos as NonNullable<typeof protos>;
    const present = [...new Set(real.y)].sort((a, b) => a - b);
    expect(Array.from(labels)).toEqual(present);
    const z = tf.tidy(() => run.model.project(run.model.embed(real.x, 'eval'), 'eval').arraySync());
    const expected = present.map((c) => {
      const rows = z.filter((_, i) => real.y[i] === c);
      const mean = (rows[0] as number[]).map((_, t) => rows.reduce((s, r) => s + (r[t] as number), 0) / rows.length);
      return [mean, mean];
    });
    expectClose(features, expected, { rtol: 1e-4, atol: 1e-6 });
    // Means of unit vectors: not re-normalized.
    expect(Math.hypot(...((expected[0] as number[][])[0] as number[]))).toBeLessThan(0.999);
    // The contrastive branch is off (weight 0): it is not computed, so nothing is label-corrected.
    expect(run.labelCorrection[0]?.synthetic).toBe(0);
    expect(run.kind).toBe('sau');
    expect(JSON.parse(JSON.stringify(run.config))).toEqual(run.config);
    expect(run.config).toMatchObject({ external: ['synthetic'], noisyStrategy: 'drop', neighborMetric: 'cosine', temperature: 0.1, baseTemperature: 0.1, lossWeights: { mix: 0, contrastive: 0 } });
    tf.dispose([features]);
    run.dispose();
    expect(fake.x.isDisposed).toBe(false); // the caller's synthetic data
    tf.dispose([real.x, fake.x]);
  }, 30_000);

  it('options: the logit-adjusted head uses the pool prior, mixing and prototypes switch their parts', async () => {
    const small = { epochs: 1, batchSize: 128 } as const;
    const fitOnce = async (extra: Partial<SauOptions>, without: readonly (keyof SauOptions)[] = []) => {
      const run = recipe(3, { ...small, ...extra }, without);
      await run.fit(tiny);
      const out = { mix: run.trainer.history[0]?.['loss/mix'] as number, protos: run.prototypes(), stats: run.labelCorrection, config: run.config };
      run.dispose();
      return out;
    };
    // Every class topped up to the tiny set's n_max = 30: a uniform pool prior, log π a constant, the same loss.
    const toMax = { topUp: { kind: 'toMax' } } as const;
    const ce = await fitOnce(toMax);
    const la = await fitOnce({ ...toMax, headLoss: 'logitAdjusted' });
    expect(la.mix).toBeCloseTo(ce.mix, 4);
    expect(la.config['headLoss']).toBe('logitAdjusted');
    // Real data only (30, ..., 6 per class): the prior shifts the logits, so the loss moves.
    const ceReal = await fitOnce({}, ['synthesizer', 'topUp']);
    const laReal = await fitOnce({ headLoss: 'logitAdjusted' }, ['synthesizer', 'topUp']);
    expect(Math.abs(laReal.mix - ceReal.mix)).toBeGreaterThan(1e-2);
    // Without prototypes the contrastive branch still label-corrects (against the batch's real samples).
    const noProto = await fitOnce({ prototypes: false });
    expect(noProto.protos).toBeNull();
    expect(noProto.stats[0]?.synthetic).toBeGreaterThan(0);
    const none = await fitOnce({ mixing: 'none' });
    expect(none.config['mixing']).toBe('none');
    expect(none.mix).not.toBeCloseTo(ce.mix, 3);
    for (const r of [ce, la, ceReal, laReal, none]) r.protos?.features.dispose();
  }, 60_000);

  it('the new options together are deterministic per seed and free everything they make', async () => {
    const extra = { epochs: 1, batchSize: 128, mixing: 'mixup', headLoss: 'logitAdjusted', prototypes: false } as const;
    const before = tf.memory().numTensors;
    const once = async (seed: number) => {
      const run = recipe(seed, extra);
      await run.fit(tiny);
      const out = { history: run.trainer.history, report: run.evaluate(test), stats: run.labelCorrection };
      run.dispose();
      return out;
    };
    const a = await once(6);
    const b = await once(6);
    const c = await once(7);
    expect(b.history).toEqual(a.history);
    expect(b.report.perClass).toEqual(a.report.perClass);
    expect(b.stats).toEqual(a.stats);
    expect(c.history).not.toEqual(a.history);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('flagged data without a synthesizer, and a caller-owned synthesizer instance', async () => {
    const extra: LabeledData = { x: tf.slice(test.x, 0, 60), y: test.y.slice(0, 60) };
    const flagged = withFlags(extra, { synthetic: true });
    const { concatRealSynthetic } = await import('../../src/data/index.js');
    const mixed = concatRealSynthetic({ real: tiny, synthetic: flagged });
    const run = recipe(2, { epochs: 1, batchSize: 128 }, ['synthesizer']);
    await run.fit(mixed);
    expect(run.labelCorrection[0]?.synthetic).toBe(60);
    run.dispose();
    tf.dispose([extra.x, mixed.x]);
    const smote = new LatentSmote({ numClasses: 10 });
    const run2 = recipe(2, { synthesizer: smote, epochs: 1, batchSize: 128, topUp: { kind: 'toCount', count: 40 } });
    await run2.fit(tiny);
    expect(run2.labelCorrection[0]?.synthetic).toBe(tinyCounts.reduce((s, n) => s + Math.max(40 - n, 0), 0));
    expect(Array.from(smote.observedCounts())).toEqual(tinyCounts);
    run2.dispose();
    smote.dispose();
  }, 30_000);

  describe('bad input: pinned errors before any tensor is made', () => {
    const base = (): SauOptions => ({ seed: 0, numClasses: 10, inputShape: [784], imageShape: [28, 28, 1], progress: 'none' });

    it('options', () => {
      expectError(() => sau({ ...base(), seed: undefined as unknown as number }), 'INVALID_OPTION', 'expected seed to be an integer. Received: seed=undefined');
      // Flat inputs without imageShape are feature vectors: image views are refused, MixUp alone runs.
      expectError(
        () => sau({ ...omit(base(), 'imageShape'), augmentation: 'flip' }),
        'INVALID_OPTION',
        `expected augmentation 'none' for feature vectors (crops and flips are image operations; pass imageShape for images). Received: augmentation="flip"`,
      );
      const flat = sau(omit(base(), 'imageShape'));
      expect(flat.config['augmentation']).toBe('none');
      flat.dispose();
      expectError(() => sau({ ...base(), imageShape: [28, 27, 1] }), 'SHAPE_MISMATCH', 'expected imageShape H·W·C = input size 784 = 784. Received: imageShape product=756');
      expectError(() => sau(omit(base(), 'inputShape')), 'MISSING_INPUT', 'expected inputShape (or synthetic data, or a backbone with an input shape). Received: inputShape=undefined');
      expectError(() => sau({ ...base(), noisyStrategy: 'pos_neg' as NoisyStrategy }), 'INVALID_OPTION', 'expected noisyStrategy to be one of "drop", "posNeg", "negOnly". Received: noisyStrategy="pos_neg"');
      expectError(() => sau({ ...base(), temperature: 0 }), 'INVALID_OPTION', 'expected temperature > 0. Received: temperature=0');
      expectError(() => sau({ ...base(), lossWeights: { contrastive: -1 } }), 'INVALID_OPTION', 'expected lossWeights.contrastive >= 0. Received: lossWeights.contrastive=-1');
      expectError(() => sau({ ...base(), neighborMetric: 'l1' as NeighborMetric }), 'INVALID_OPTION', 'expected neighborMetric to be one of "cosine", "euclidean". Received: neighborMetric="l1"');
      expectError(() => sau({ ...base(), augmentation: 'crop' as 'flip' }), 'INVALID_OPTION', 'expected augmentation to be one of "cropFlip", "flip", "none". Received: augmentation="crop"');
      expectError(() => sau({ ...base(), batchSize: 1 }), 'INVALID_OPTION', 'expected batchSize >= 2. Received: batchSize=1');
      expectError(() => sau({ ...base(), mixing: 'cutmix' as 'none' }), 'INVALID_OPTION', 'expected mixing to be one of "mixupCutmix", "mixup", "none". Received: mixing="cutmix"');
      expectError(
        () => sau({ ...omit(base(), 'imageShape'), mixing: 'mixupCutmix' }),
        'INVALID_OPTION',
        `expected mixing 'mixup' or 'none' for feature vectors (CutMix pastes image patches; pass imageShape for images). Received: mixing="mixupCutmix"`,
      );
      expectError(() => sau({ ...base(), headLoss: 'balanced' as 'crossEntropy' }), 'INVALID_OPTION', 'expected headLoss to be one of "crossEntropy", "logitAdjusted". Received: headLoss="balanced"');
      expectError(() => sau({ ...base(), prototypes: 'perEpoch' as unknown as boolean }), 'INVALID_OPTION', 'expected prototypes to be a boolean. Received: prototypes="perEpoch"');
    });

    it('synthetic data and synthesizers', () => {
      expectError(() => sau({ ...base(), synthesizer: { kind: 'gan', config: {} } }), 'UNKNOWN_KIND', 'expected a synthesizer kind, one of classGaussian, latentSmote, otDistributionMatching. Received: kind="gan"');
      const smote = new LatentSmote({ numClasses: 3 });
      expectError(() => sau({ ...base(), synthesizer: smote }), 'SHAPE_MISMATCH', 'expected synthesizer.numClasses = numClasses = 10. Received: synthesizer.numClasses=3');
      smote.dispose();
      const syn: LabeledData = { x: tf.zeros([2, 784]), y: Int32Array.from([0, 10]) };
      const images: LabeledData = { x: tf.zeros([2, 28, 28, 1]), y: Int32Array.from([0, 1]) };
      const before = tf.memory().numTensors;
      expectError(() => sau({ ...base(), synthetic: syn }), 'LABEL_OUT_OF_RANGE', 'expected synthetic.y in [0, 10). Received: synthetic.y[1]=10');
      expectError(
        () => sau({ ...base(), synthetic: { x: syn.x, y: Int32Array.from([0, 1]) }, synthesizer: { kind: 'latentSmote' } as never }),
        'INVALID_OPTION',
        'expected either synthetic or synthesizer, not both. Received: synthesizer="latentSmote"',
      );
      expectError(() => sau({ ...base(), synthetic: images }), 'SHAPE_MISMATCH', 'expected synthetic samples of shape [784]. Received: synthetic shape=[28, 28, 1]');
      expectError(
        () => sau({ ...omit(base(), 'inputShape'), synthetic: images }),
        'SHAPE_MISMATCH',
        'expected inputShape [D] for the default MLP (flatten images, or pass a backbone). Received: inputShape=[28, 28, 1]',
      );
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([syn.x, images.x]);
    });

    it('fit data, batch sizes that leave one sample, use after dispose', async () => {
      const run = sau({ ...base(), epochs: 1, hiddenSizes: [8], projectionHiddenSizes: [4], projectionDim: 4 });
      const narrow: LabeledData = { x: tf.zeros([3, 783]), y: Int32Array.from([0, 1, 2]) };
      await expect(run.fit(narrow)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', message: 'expected train samples of shape [784]. Received: train shape=[783]' });
      // A final batch of one sample is left out by the trainer (the projection's batch norm has state).
      const odd: LabeledData = { x: tf.zeros([257, 784]), y: Int32Array.from({ length: 257 }, (_, i) => i % 10) };
      const history = await run.fit(odd);
      expect(history.epochs).toHaveLength(1);
      run.dispose();
      expectError(() => run.evaluate(test), 'DISPOSED', 'expected a live sau run. Received: a sau run after dispose()');
      tf.dispose([narrow.x, odd.x]);
    });
  });
});
