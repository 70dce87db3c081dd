/**
 * OT distribution matching in latent space (Li et al., TMLR 2025, "Synthesizing Minority Samples via
 * Distribution Matching"), in OUR stated formulation — the paper's algorithm text was not available:
 * seeds from larger classes (M2m weights), T normalized gradient steps on λ1·OT_ε + λ2·CE through the
 * classifier head, keep samples the head assigns to the target class with probability ≥ τ.
 */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import type { Rng } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkAllFinite, checkInteger, checkNonNegative, checkOneOf, checkPositive, checkRange, checkRank, checkSameSize } from '../core/validate.js';
import { checkPerClass, tooFew } from './input.js';
import { otLoss } from './ot-loss.js';
import { ClassReservoir, observeIntoReservoir } from './reservoir.js';
import type { FeatureBatch, LabeledFeatures, SynthesisRequest, Synthesizer } from './types.js';

/** Options of {@link OtDistributionMatching} (plain JSON). Defaults are the paper's seed hyperparameters. */
export interface OtMatchingOptions {
  readonly numClasses: number;
  /** `'inDistribution'`: match the class's own real features; `'outOfDistribution'`: a set given by setTargetSet. @defaultValue 'inDistribution' */
  readonly mode?: 'inDistribution' | 'outOfDistribution';
  /** T. @defaultValue 5 */
  readonly steps?: number;
  /** η, in units of {@link OtMatchingOptions.stepUnit}. @defaultValue 0.1 */
  readonly stepSize?: number;
  /**
   * What η is measured in. `'latentNorm'` (a library choice, scale-free): each step moves a row by
   * η·r with r the root-mean-square norm of the observed real rows, so the same η works on 2-d toy data
   * and on 256-d ReLU latents of norm ~10; `'absolute'`: by η (the formulation before this option, whose
   * η = 0.1 barely moves 256-d latents — docs/benchmarks.md, synLt ablation). @defaultValue 'latentNorm'
   */
  readonly stepUnit?: 'latentNorm' | 'absolute';
  /** ε. @defaultValue 0.1 */
  readonly epsilon?: number;
  /** @defaultValue 200 */
  readonly sinkhornIterations?: number;
  /** λ1. @defaultValue 0.5 */
  readonly otWeight?: number;
  /** λ2. @defaultValue 0.5 */
  readonly ceWeight?: number;
  /** β of the seed-class weights 1 − β^{max(n_seed − n_target, 0)}. @defaultValue 0.999 */
  readonly beta?: number;
  /** τ. @defaultValue 0.9 */
  readonly threshold?: number;
  /** `'cosine'`: 1 − cos; a zero row (a dead-ReLU latent) is at distance 1 from everything. @defaultValue 'squaredEuclidean' */
  readonly cost?: 'squaredEuclidean' | 'cosine';
  /** Rows of real features kept per class (reservoir sampling). @defaultValue 512 */
  readonly reservoirSize?: number;
  /** Seed of the reservoir's replacement choices. @defaultValue 0 */
  readonly reservoirSeed?: number;
  /** Proposal rounds per class: rejected proposals are re-proposed up to this many times. @defaultValue 1 */
  readonly maxRounds?: number;
}

/** Per-class outcome of one {@link OtDistributionMatching.sampleWithReport} call. */
export type AcceptanceEntry = {
  readonly classIndex: number;
  readonly requested: number;
  readonly proposed: number;
  readonly accepted: number;
  /** Mean head probability of the target class over all proposals (NaN when none were proposed). */
  readonly meanProbability: number;
  /** Mean head probability of the target class at the seeds, before the steps (NaN when none were proposed). */
  readonly meanProbabilityBefore: number;
  /** Length of one step, η·r (r = 1 for `stepUnit: 'absolute'`). */
  readonly stepLength: number;
  /** Mean ‖x_T − x_0‖₂ of the proposals (NaN when none were proposed). */
  readonly meanDisplacement: number;
};

/** Samples plus the acceptance report. */
export interface MatchingResult {
  readonly samples: LabeledFeatures;
  readonly report: readonly AcceptanceEntry[];
  /** Per report entry (same order), the seeds drawn from each source class (length numClasses; Σ = proposed). */
  readonly seedCounts: readonly (readonly number[])[];
}

type Resolved = Required<OtMatchingOptions>;

/** Every key of {@link OtMatchingOptions} (the one list the synthesizer registry and synLt reuse). */
export const OT_MATCHING_KEYS: OptionKeys<OtMatchingOptions> = {
  numClasses: true,
  mode: true,
  steps: true,
  stepSize: true,
  stepUnit: true,
  epsilon: true,
  sinkhornIterations: true,
  otWeight: true,
  ceWeight: true,
  beta: true,
  threshold: true,
  cost: true,
  reservoirSize: true,
  reservoirSeed: true,
  maxRounds: true,
};

/**
 * Checks OT matching options and fills in the defaults, without building anything (the constructor runs
 * it; recipes run it to fail before their model exists).
 */
export function resolveOtMatchingOptions(options: OtMatchingOptions): Required<OtMatchingOptions> {
  if (options === undefined) throw invalid('INVALID_OPTION', 'an options object', 'options', options);
  const o = checkOptions('OtDistributionMatching options', options, OT_MATCHING_KEYS);
  return {
    numClasses: checkInteger('numClasses', o.numClasses, { min: 1 }),
    mode: checkOneOf('mode', o.mode ?? 'inDistribution', ['inDistribution', 'outOfDistribution'] as const),
    steps: checkInteger('steps', o.steps ?? 5),
    stepSize: checkNonNegative('stepSize', o.stepSize ?? 0.1),
    stepUnit: checkOneOf('stepUnit', o.stepUnit ?? 'latentNorm', ['latentNorm', 'absolute'] as const),
    epsilon: checkPositive('epsilon', o.epsilon ?? 0.1),
    sinkhornIterations: checkInteger('sinkhornIterations', o.sinkhornIterations ?? 200, { min: 1 }),
    otWeight: checkNonNegative('otWeight', o.otWeight ?? 0.5),
    ceWeight: checkNonNegative('ceWeight', o.ceWeight ?? 0.5),
    beta: checkRange('beta', o.beta ?? 0.999, { min: 0, max: 1, maxExclusive: true }),
    threshold: checkRange('threshold', o.threshold ?? 0.9, { min: 0, max: 1 }),
    cost: checkOneOf('cost', o.cost ?? 'squaredEuclidean', ['squaredEuclidean', 'cosine'] as const),
    reservoirSize: checkInteger('reservoirSize', o.reservoirSize ?? 512, { min: 1 }),
    reservoirSeed: checkInteger('reservoirSeed', o.reservoirSeed ?? 0, { min: Number.MIN_SAFE_INTEGER }),
    maxRounds: checkInteger('maxRounds', o.maxRounds ?? 1, { min: 1 }),
  };
}

/**
 * Seed-class probabilities for target class `target` (M2m, Kim et al. 2020): class j is chosen with
 * probability ∝ 1 − β^{max(n_j − n_target, 0)}, so only larger classes can seed. Returns all zeros when
 * no class is larger.
 */
export function seedClassWeights(counts: ArrayLike<number>, target: number, beta: number): Float64Array {
  const nt = counts[target] as number;
  const w = Float64Array.from(counts, (n) => 1 - Math.pow(beta, Math.max(n - nt, 0)));
  let total = 0;
  for (const v of w) total += v;
  if (total > 0) for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) / total;
  return w;
}

/** √(mean ‖y‖²) over every stored row of every class (1 when the rows are all zero or there are none). */
function rmsNorm(reservoir: ClassReservoir, numClasses: number): number {
  let sum = 0;
  let rows = 0;
  for (let c = 0; c < numClasses; c++) {
    const values = reservoir.get(c);
    const n = reservoir.size(c);
    for (let i = 0; i < n * reservoir.dim; i++) sum += (values[i] as number) ** 2;
    rows += n;
  }
  const r = rows > 0 ? Math.sqrt(sum / rows) : 0;
  return r > 0 ? r : 1;
}

/**
 * OT distribution matching synthesizer. For each target class c with `perClass[c] > 0`:
 * 1. seeds: class j ~ `seedClassWeights` (only classes with more observed samples than c and a
 *    non-empty memory; when there is none, c's own samples), then a uniform row of j's reservoir;
 * 2. T steps x ← x − η·r·g/‖g‖ (per row, ‖·‖₂), g = ∇ₓ[λ1·OT_ε(x, Y_c) + λ2·mean CE(head(x), c)], with
 *    r = √(mean ‖y‖²) over every observed real row (`stepUnit: 'latentNorm'`, default) or r = 1 (`'absolute'`),
 *    OT_ε from {@link otLoss} (uniform weights, cost normalized by its max, plan held constant) and Y_c
 *    the class's reservoir (in-distribution) or the set given by {@link setTargetSet} (out-of-distribution);
 * 3. keep rows with softmax(head(x))_c ≥ τ.
 * The request's `head` is required. Fewer than requested samples may come back: see the report.
 */
export class OtDistributionMatching implements Synthesizer {
  readonly kind = 'otDistributionMatching';
  /** Draws are scored by the model's head (request.head). */
  readonly needs = ['head'] as const;
  readonly numClasses: number;
  private readonly options: Resolved;
  private readonly guard = new DisposeGuard('OtDistributionMatching');
  private reservoir: ClassReservoir | null = null;
  private readonly targets = new Map<number, Float32Array>();
  private lastReportValue: readonly AcceptanceEntry[] = [];

  constructor(options: OtMatchingOptions) {
    this.options = resolveOtMatchingOptions(options);
    this.numClasses = this.options.numClasses;
  }

  get config(): JsonObject {
    return { ...this.options };
  }

  /** The report of the last sample() call. */
  get lastReport(): readonly AcceptanceEntry[] {
    return this.lastReportValue;
  }

  observe(batch: FeatureBatch): void {
    this.guard.check();
    this.reservoir = observeIntoReservoir(this.reservoir, batch, {
      numClasses: this.numClasses,
      capacity: this.options.reservoirSize,
      seed: this.options.reservoirSeed,
    });
  }

  /** Forgets the observed real features (the reservoir) and the last report; an out-of-distribution target set is kept. */
  reset(): void {
    this.guard.check();
    this.reservoir = null;
    this.lastReportValue = [];
  }

  observedCounts(): Float64Array {
    this.guard.check();
    return this.reservoir === null ? new Float64Array(this.numClasses) : this.reservoir.counts();
  }

  /**
   * Sets the out-of-distribution target set of class `c` (copied; the tensor is not taken over).
   *
   * @throws LongTailError `SHAPE_MISMATCH` when the dimension differs from the observed features.
   */
  setTargetSet(c: number, features: tf.Tensor2D): void {
    this.guard.check();
    checkInteger('classIndex', c);
    if (c >= this.numClasses) throw invalid('LABEL_OUT_OF_RANGE', `classIndex in [0, ${this.numClasses})`, 'classIndex', c);
    checkRank('features', features.shape, 2);
    if (this.reservoir !== null) checkSameSize('feature dimension', this.reservoir.dim, 'features.shape[1]', features.shape[1]);
    if (features.shape[0] === 0) throw tooFew(c, 0, 1, 'an out-of-distribution target set');
    const values = Float32Array.from(features.dataSync());
    checkAllFinite('features', values);
    this.targets.set(c, values);
  }

  sample(request: SynthesisRequest, rng: Rng): LabeledFeatures {
    return this.sampleWithReport(request, rng).samples;
  }

  /** Like {@link sample}, also returning the per-class acceptance report. */
  sampleWithReport(request: SynthesisRequest, rng: Rng): MatchingResult {
    this.guard.check();
    const perClass = checkPerClass(request?.perClass, this.numClasses);
    const head = request.head;
    if (typeof head !== 'function') {
      throw new LongTailError('MISSING_INPUT', 'expected request.head, the classifier head, for OT distribution matching. Received: head=undefined');
    }
    const reservoir = this.reservoir;
    if (reservoir === null) throw new LongTailError('NOT_FITTED', 'expected observe() before sampling. Received: no observed features');
    const d = reservoir.dim;
    const counts = reservoir.counts();
    const o = this.options;
    // Validate every class before any tensor exists.
    for (let c = 0; c < this.numClasses; c++) {
      if ((perClass[c] as number) === 0) continue;
      if (o.mode === 'inDistribution' && reservoir.size(c) === 0) throw tooFew(c, 0, 1, 'in-distribution matching');
      if (o.mode === 'outOfDistribution') {
        const t = this.targets.get(c);
        if (t === undefined) throw new LongTailError('MISSING_INPUT', `expected a target set for class ${c} (setTargetSet). Received: none`, { classIndex: c });
        if (t.length / d !== Math.floor(t.length / d)) throw invalid('SHAPE_MISMATCH', `target set width ${d}`, 'targets.length', t.length);
      }
      if (this.seedPool(c, counts).length === 0) throw tooFew(c, 0, 1, 'seeding (no class has stored samples)');
    }
    const stepLength = o.stepSize * (o.stepUnit === 'latentNorm' ? rmsNorm(reservoir, this.numClasses) : 1);
    const chunks: Float32Array[] = [];
    const labelChunks: Int32Array[] = [];
    const report: AcceptanceEntry[] = [];
    const seedCountsPerEntry: number[][] = [];
    for (let c = 0; c < this.numClasses; c++) {
      const want = perClass[c] as number;
      if (want === 0) continue;
      const target = o.mode === 'inDistribution' ? reservoir.get(c) : (this.targets.get(c) as Float32Array);
      let proposed = 0;
      let accepted = 0;
      let probabilitySum = 0;
      let beforeSum = 0;
      let displacementSum = 0;
      const seedCounts = new Array<number>(this.numClasses).fill(0);
      for (let round = 0; round < o.maxRounds && accepted < want; round++) {
        const k = want - accepted;
        const { seeds, sources } = this.drawSeeds(c, k, counts, rng);
        for (const j of sources) seedCounts[j] = (seedCounts[j] as number) + 1;
        const { rows, probabilities, before } = this.refine(seeds, k, d, target, c, head, stepLength);
        proposed += k;
        for (let i = 0; i < k; i++) {
          const p = probabilities[i] as number;
          probabilitySum += p;
          beforeSum += before[i] as number;
          let moved = 0;
          for (let q = i * d; q < (i + 1) * d; q++) moved += ((rows[q] as number) - (seeds[q] as number)) ** 2;
          displacementSum += Math.sqrt(moved);
          if (p >= o.threshold) {
            chunks.push(rows.subarray(i * d, (i + 1) * d));
            accepted++;
          }
        }
      }
      labelChunks.push(new Int32Array(accepted).fill(c));
      const per = (sum: number): number => (proposed > 0 ? sum / proposed : Number.NaN);
      report.push({
        classIndex: c,
        requested: want,
        proposed,
        accepted,
        meanProbability: per(probabilitySum),
        meanProbabilityBefore: per(beforeSum),
        stepLength,
        meanDisplacement: per(displacementSum),
      });
      seedCountsPerEntry.push(seedCounts);
    }
    this.lastReportValue = report;
    const total = chunks.length;
    const out = new Float32Array(total * d);
    chunks.forEach((row, i) => out.set(row, i * d));
    const labels = new Int32Array(total);
    let at = 0;
    for (const l of labelChunks) {
      labels.set(l, at);
      at += l.length;
    }
    return { samples: { features: tf.tensor2d(out, [total, d]), labels: tf.tensor1d(labels, 'int32') }, report, seedCounts: seedCountsPerEntry };
  }

  /** The synthesizer holds no tensors; frees its memory. Idempotent. */
  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.reservoir = null;
    this.targets.clear();
  }

  private seedPool(c: number, counts: Float64Array): number[] {
    const reservoir = this.reservoir as ClassReservoir;
    const pool: number[] = [];
    for (let j = 0; j < this.numClasses; j++) if ((counts[j] as number) > (counts[c] as number) && reservoir.size(j) > 0) pool.push(j);
    if (pool.length === 0 && reservoir.size(c) > 0) pool.push(c);
    return pool;
  }

  private drawSeeds(c: number, k: number, counts: Float64Array, rng: Rng): { seeds: Float32Array; sources: Int32Array } {
    const reservoir = this.reservoir as ClassReservoir;
    const d = reservoir.dim;
    const pool = this.seedPool(c, counts);
    const weights = seedClassWeights(counts, c, this.options.beta);
    const poolWeights = pool.map((j) => (j === c ? 1 : (weights[j] as number)));
    let total = poolWeights.reduce((s, w) => s + w, 0);
    if (!(total > 0)) {
      poolWeights.fill(1);
      total = pool.length;
    }
    const out = new Float32Array(k * d);
    const sources = new Int32Array(k);
    for (let s = 0; s < k; s++) {
      let r = rng.next() * total;
      let pick = pool[pool.length - 1] as number;
      for (let q = 0; q < pool.length; q++) {
        r -= poolWeights[q] as number;
        if (r < 0) {
          pick = pool[q] as number;
          break;
        }
      }
      const rowIndex = rng.int(reservoir.size(pick));
      out.set(reservoir.get(pick).subarray(rowIndex * d, (rowIndex + 1) * d), s * d);
      sources[s] = pick;
    }
    return { seeds: out, sources };
  }

  private refine(
    seeds: Float32Array,
    k: number,
    d: number,
    target: Float32Array,
    c: number,
    head: (features: tf.Tensor2D) => tf.Tensor2D,
    stepLength: number,
  ): { rows: Float32Array; probabilities: Float32Array; before: Float32Array } {
    const o = this.options;
    const m = target.length / d;
    return tf.tidy(() => {
      const y = tf.tensor2d(target, [m, d]);
      let x = tf.tensor2d(seeds, [k, d]);
      const before = Float32Array.from(tf.slice(tf.softmax(head(x)), [0, c], [-1, 1]).dataSync());
      const objective = (v: tf.Tensor2D): tf.Scalar => {
        const logits = head(v);
        const ce = tf.neg(tf.mean(tf.slice(tf.logSoftmax(logits), [0, c], [-1, 1])));
        if (o.otWeight === 0) return tf.mul(o.ceWeight, ce) as tf.Scalar;
        const ot = otLoss(v, y, { epsilon: o.epsilon, iterations: o.sinkhornIterations, cost: o.cost, normalize: true });
        return tf.add(tf.mul(o.otWeight, ot), tf.mul(o.ceWeight, ce)) as tf.Scalar;
      };
      const gradient = tf.grad(objective as (v: tf.Tensor) => tf.Tensor);
      for (let t = 0; t < o.steps; t++) {
        const next = tf.tidy(() => {
          const g = gradient(x);
          const norm = tf.add(tf.norm(g, 'euclidean', 1, true), 1e-12);
          return tf.sub(x, tf.mul(stepLength, tf.div(g, norm))) as tf.Tensor2D;
        });
        x.dispose();
        x = next;
      }
      const probabilities = tf.slice(tf.softmax(head(x)), [0, c], [-1, 1]);
      return { rows: Float32Array.from(x.dataSync()), probabilities: Float32Array.from(probabilities.dataSync()), before };
    });
  }
}
