/**
 * Samplers that can prove what they draw: run a sampler for some epochs and compare the class frequencies
 * it emitted with the distribution it is designed to emit, by Pearson's chi-square test. Peers' balanced
 * samplers have missed their targets silently (tf.data's `rejection_resample`, tensorflow#28598, gave
 * 0.71 / 0.29 for a 0.5 / 0.5 target; imbalanced-learn's `balanced_batch_generator`, imbalanced-learn#713,
 * yielded unbalanced batches); a report makes such a miss a failing number.
 */
import { invalid, LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { seededRng } from '../core/rng.js';
import { checkClassCounts, checkInteger, checkLabels, checkSameSize } from '../core/validate.js';
import { pearsonChiSquare, type ChiSquareResult } from './chi-square.js';
import type { Sampler, SamplerTarget } from './types.js';

/** Options of {@link samplerReport}. */
export interface SamplerReportOptions {
  /** Batch size handed to the sampler (m-per-class needs a multiple of m). */
  readonly batchSize: number;
  /** Root seed: epoch e draws from `seededRng(seed).fork('epoch:e').fork('sampler')`, as the Trainer does. */
  readonly seed: number | string;
  /** Number of consecutive epochs to run. Default 1. */
  readonly epochs?: number;
  /** The first epoch to run (0-based). Default 0. */
  readonly startEpoch?: number;
  /** T, the length of the schedule (progressive sampling). Default startEpoch + epochs. */
  readonly totalEpochs?: number;
  /**
   * Class probabilities to test against instead of the sampler's own `targetDistribution` (length C,
   * non-negative, normalized here); required for a sampler without `targetDistribution` (then one sample
   * per draw is assumed). The sampler's `samplesPerDraw` still applies when it has one. Useful to show that
   * a sampler does *not* follow some other distribution.
   */
  readonly target?: ArrayLike<number>;
}

/** One class of a {@link SamplerReport}. */
export interface SamplerReportClass {
  /** Class index j. */
  readonly class: number;
  /** n_j, the class's count in the labels. */
  readonly count: number;
  /** Samples of class j the sampler emitted over the epochs. */
  readonly emitted: number;
  /** Σ_e N_e · p_j(e): the samples of class j expected under the target (N_e samples emitted at epoch e). */
  readonly expected: number;
  /** emitted / Σ emitted. */
  readonly emittedShare: number;
  /** expected / Σ expected: the target share (averaged over the epochs, weighted by their sizes). */
  readonly targetShare: number;
}

/** What a sampler emitted against what it is designed to emit. */
export interface SamplerReport {
  /** The sampler's kind. */
  readonly kind: string;
  /** The epochs that were run. */
  readonly epochs: readonly number[];
  /** Σ emitted: samples emitted over all epochs. */
  readonly numSamples: number;
  /** Number of batches over all epochs. */
  readonly numBatches: number;
  /** Samples per independent class choice (m for m-per-class, else 1); the test counts choices. */
  readonly samplesPerDraw: number;
  /** Whether the target came from the `target` option rather than the sampler. */
  readonly customTarget: boolean;
  /** Per-class rows, class 0 first. */
  readonly classes: readonly SamplerReportClass[];
  /**
   * Pearson's test of emitted / samplesPerDraw against expected / samplesPerDraw, with
   * k = #{j : expected_j > 0} − 1 degrees of freedom.
   */
  readonly chiSquare: ChiSquareResult;
}

const REPORT_KEYS: OptionKeys<SamplerReportOptions> = {
  batchSize: true,
  seed: true,
  epochs: true,
  startEpoch: true,
  totalEpochs: true,
  target: true,
};

/** The target probabilities of the `target` option: length C, non-negative, normalized to sum 1. */
function customTarget(target: ArrayLike<number>, numClasses: number): Float64Array {
  const p = checkClassCounts('target', target);
  checkSameSize('target.length (the number of classes in labels)', numClasses, 'target.length', p.length);
  const total = p.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw invalid('INVALID_OPTION', 'target to have a positive entry', 'target', target);
  return p.map((v) => v / total);
}

/**
 * Runs `sampler` for `epochs` epochs on `labels` and reports, per class, the samples it emitted and the
 * samples its target distribution predicts, with Pearson's chi-square goodness-of-fit test:
 *
 *   expected_j = Σ_e N_e · p_j(e),   χ² = Σ_j (O_j − E_j)² / E_j over u-sample draws (O, E divided by u),
 *   k = #{j : E_j > 0} − 1,          p-value = Q(k / 2, χ² / 2)
 *
 * with p(e) the sampler's `targetDistribution(counts, { epoch: e, totalEpochs })` (instance: n_j / N;
 * class-balanced: uniform over the classes present; power q: n_j^q / Σ n^q; progressive: its mixture at
 * epoch e; m-per-class: uniform, u = m) or the `target` option, and N_e the samples emitted at epoch e.
 *
 * The test is exact for i.i.d. class draws (class-balanced, power, progressive at one epoch). It is
 * conservative (p-values biased upwards) where the draws are less variable than multinomial: the instance
 * sampler's permutations (a whole epoch emits n_j exactly, χ² = 0), m-per-class's distinct classes per
 * batch, and several epochs of a changing schedule. A small p-value is therefore always a real miss.
 *
 * @example
 * ```ts
 * const r = samplerReport(classBalancedSampler({ numSamples: 20000 }), train.y, { batchSize: 64, seed: 0 });
 * r.chiSquare;  // { statistic, dof: C − 1, pValue }: pValue < 1e-3 says the sampler missed its target
 * r.classes[j]; // { class, count, emitted, expected, emittedShare, targetShare }
 * samplerReport(sampler, train.y, { batchSize: 64, seed: 0, target: uniform }); // against another target
 * ```
 * @throws LongTailError `MISSING_INPUT` when the sampler has no `targetDistribution` and no `target` is
 *   given; `LABEL_OUT_OF_RANGE` for bad labels, `INVALID_OPTION` for bad options, `SHAPE_MISMATCH` for a
 *   `target` of the wrong length, `UNKNOWN_OPTION` for a misspelled key; the sampler's own errors.
 */
export function samplerReport(sampler: Sampler, labels: ArrayLike<number>, options: SamplerReportOptions): SamplerReport {
  if (sampler === null || typeof sampler !== 'object' || typeof sampler.batches !== 'function') {
    throw invalid('INVALID_OPTION', 'sampler to be a Sampler (an object with batches)', 'sampler', sampler);
  }
  const o = checkOptions('samplerReport options', options, REPORT_KEYS);
  const y = checkLabels('labels', labels);
  if (y.length === 0) throw invalid('EMPTY_CLASS', 'at least one label to sample from', 'labels.length', 0);
  const batchSize = checkInteger('batchSize', o.batchSize, { min: 1 });
  if (typeof o.seed !== 'number' && typeof o.seed !== 'string') throw invalid('INVALID_OPTION', 'seed to be a number or a string', 'seed', o.seed);
  const epochs = checkInteger('epochs', o.epochs ?? 1, { min: 1 });
  const startEpoch = checkInteger('startEpoch', o.startEpoch ?? 0);
  const totalEpochs = checkInteger('totalEpochs', o.totalEpochs ?? startEpoch + epochs, { min: 1 });
  if (startEpoch + epochs > totalEpochs) {
    throw invalid('INVALID_OPTION', `startEpoch + epochs <= totalEpochs (${totalEpochs})`, 'startEpoch + epochs', startEpoch + epochs);
  }
  let numClasses = 0;
  for (const v of y) numClasses = Math.max(numClasses, v + 1);
  const counts = new Int32Array(numClasses);
  for (const v of y) counts[v] = (counts[v] as number) + 1;
  const fixed = o.target === undefined ? undefined : customTarget(o.target, numClasses);
  if (fixed === undefined && typeof sampler.targetDistribution !== 'function') {
    throw new LongTailError(
      'MISSING_INPUT',
      `expected the sampler to have targetDistribution, or a target option. Received: sampler.kind=${JSON.stringify(sampler.kind)} without targetDistribution`,
      { kind: sampler.kind },
    );
  }

  const root = seededRng(o.seed);
  const emitted = new Float64Array(numClasses);
  const expected = new Float64Array(numClasses);
  const run: number[] = [];
  let samplesPerDraw = 1;
  let numBatches = 0;
  for (let epoch = startEpoch; epoch < startEpoch + epochs; epoch++) {
    const own = sampler.targetDistribution?.(counts, { epoch, totalEpochs });
    const p = fixed ?? (own as SamplerTarget).probabilities;
    if (own !== undefined) samplesPerDraw = checkInteger('targetDistribution samplesPerDraw', own.samplesPerDraw, { min: 1 });
    checkSameSize('targetDistribution length (the number of classes)', numClasses, 'probabilities.length', p.length);
    const rng = root.fork(`epoch:${epoch}`).fork('sampler');
    let drawn = 0;
    for (const batch of sampler.batches(y, { epoch, totalEpochs, batchSize, rng })) {
      numBatches++;
      for (const i of batch) {
        const c = y[i];
        if (c === undefined || !Number.isInteger(i)) throw invalid('INVALID_DATA', `sampler indices in [0, ${y.length})`, 'index', i);
        emitted[c] = (emitted[c] as number) + 1;
      }
      drawn += batch.length;
    }
    p.forEach((v, j) => {
      expected[j] = (expected[j] as number) + drawn * v;
    });
    run.push(epoch);
  }

  const numSamples = emitted.reduce((a, b) => a + b, 0);
  const totalExpected = expected.reduce((a, b) => a + b, 0);
  const chiSquare = pearsonChiSquare({
    observed: emitted.map((v) => v / samplesPerDraw),
    expected: expected.map((v) => v / samplesPerDraw),
  });
  const classes = Array.from(counts, (count, j) => ({
    class: j,
    count,
    emitted: emitted[j] as number,
    expected: expected[j] as number,
    emittedShare: numSamples > 0 ? (emitted[j] as number) / numSamples : 0,
    targetShare: totalExpected > 0 ? (expected[j] as number) / totalExpected : 0,
  }));
  return { kind: sampler.kind, epochs: run, numSamples, numBatches, samplesPerDraw, customTarget: fixed !== undefined, classes, chiSquare };
}
