/**
 * Building blocks of the class-aware samplers: per-class probabilities p_j ∝ n_j^q, categorical draws,
 * and per-class queues that walk a shuffled copy of each class and reshuffle when exhausted.
 */
import { checkOptions, type OptionKeys } from '../core/options.js';
import { LongTailError, invalid } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { checkClassCounts, checkFinite, checkInteger, checkLabels } from '../core/validate.js';
import { poolsByClass } from '../data/long-tail.js';
import type { SamplerContext } from './types.js';

const Q_KEYS: OptionKeys<{ readonly q: number }> = { q: true };
const PROGRESS_KEYS: OptionKeys<{ readonly epoch: number; readonly totalEpochs: number }> = { epoch: true, totalEpochs: true };

/**
 * p_j = n_j^q / Σ_k n_k^q over classes with n_j > 0 (absent classes get 0): q = 1 instance-balanced,
 * q = 0 class-balanced, q = 1/2 square-root sampling (Mahajan et al. 2018; Kang et al. 2020, eq. 1).
 */
export function classSamplingProbabilities(counts: ArrayLike<number>, options: { readonly q: number }): Float64Array {
  checkOptions('classSamplingProbabilities options', options, Q_KEYS);
  const n = checkClassCounts('counts', counts);
  const q = checkFinite('q', options.q);
  const p = n.map((v) => (v > 0 ? Math.pow(v, q) : 0));
  const total = p.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw invalid('EMPTY_CLASS', 'at least one class with a positive count', 'counts', counts);
  return p.map((v) => v / total);
}

/**
 * Progressively-balanced probabilities (Kang et al. 2020, "Decoupling Representation and Classifier"):
 * p_j(t) = (1 − t/T) · p_j^IB + (t/T) · p_j^CB, with t the 0-based epoch and T the number of epochs.
 */
export function progressiveProbabilities(
  counts: ArrayLike<number>,
  options: { readonly epoch: number; readonly totalEpochs: number },
): Float64Array {
  checkOptions('progressiveProbabilities options', options, PROGRESS_KEYS);
  const { epoch, totalEpochs } = options;
  checkInteger('totalEpochs', totalEpochs, { min: 1 });
  checkInteger('epoch', epoch);
  if (epoch >= totalEpochs) throw invalid('INVALID_OPTION', `epoch < totalEpochs (${totalEpochs})`, 'epoch', epoch);
  const t = epoch / totalEpochs;
  const ib = classSamplingProbabilities(counts, { q: 1 });
  const cb = classSamplingProbabilities(counts, { q: 0 });
  return ib.map((v, j) => (1 - t) * v + t * (cb[j] as number));
}

/** Draws `count` classes i.i.d. from the categorical distribution `p` (inverse CDF, binary search). */
export function drawClasses(p: Float64Array, count: number, rng: Rng): Int32Array {
  const cdf = new Float64Array(p.length);
  let acc = 0;
  p.forEach((v, j) => {
    acc += v;
    cdf[j] = acc;
  });
  const last = p.length - 1;
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const u = rng.next() * acc;
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    // Skip zero-probability classes that share the CDF value (u exactly on a boundary).
    while ((p[lo] as number) === 0 && lo < last) lo++;
    out[i] = lo;
  }
  return out;
}

/**
 * Per-class queues: `next(j)` returns the samples of class j in a random order, reshuffling after each
 * full pass, so within a class no sample repeats before all others were used.
 */
export class ClassQueues {
  private readonly pools: Int32Array[];
  private readonly cursor: Int32Array;

  constructor(
    labels: Int32Array,
    numClasses: number,
    private readonly rng: Rng,
  ) {
    this.pools = poolsByClass(labels, numClasses);
    this.cursor = new Int32Array(numClasses).fill(-1);
  }

  /** The number of samples of class j. */
  size(j: number): number {
    return (this.pools[j] as Int32Array).length;
  }

  next(j: number): number {
    const pool = this.pools[j] as Int32Array;
    let c = this.cursor[j] as number;
    if (c < 0 || c >= pool.length) {
      this.rng.shuffle(pool);
      c = 0;
    }
    this.cursor[j] = c + 1;
    return pool[c] as number;
  }
}

/** Validated view of a sampler call: labels, counts per class and the epoch size. */
export interface EpochSetup {
  readonly labels: Int32Array;
  readonly counts: Int32Array;
  readonly numSamples: number;
}

/**
 * Validates `batches(labels, ctx)` arguments before any draw.
 *
 * @throws LongTailError `LABEL_OUT_OF_RANGE`, `EMPTY_CLASS` (no labels) or `INVALID_OPTION`.
 */
export function setupEpoch(labels: Int32Array, ctx: SamplerContext, numSamples: number | undefined): EpochSetup {
  const y = checkLabels('labels', labels);
  if (y.length === 0) throw invalid('EMPTY_CLASS', 'at least one label to sample from', 'labels.length', 0);
  checkInteger('batchSize', ctx.batchSize, { min: 1 });
  checkInteger('totalEpochs', ctx.totalEpochs, { min: 1 });
  checkInteger('epoch', ctx.epoch);
  if (ctx.rng === undefined || typeof ctx.rng.next !== 'function') {
    throw new LongTailError('MISSING_INPUT', 'expected ctx.rng to be an Rng. Received: ctx.rng=undefined', { name: 'rng' });
  }
  let numClasses = 0;
  for (const v of y) numClasses = Math.max(numClasses, v + 1);
  const counts = new Int32Array(numClasses);
  for (const v of y) counts[v] = (counts[v] as number) + 1;
  return { labels: y, counts, numSamples: numSamples ?? y.length };
}

/** Splits an epoch's index order into batches (views into `order`). */
export function splitBatches(order: Int32Array, batchSize: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let s = 0; s < order.length; s += batchSize) out.push(order.subarray(s, Math.min(order.length, s + batchSize)));
  return out;
}
