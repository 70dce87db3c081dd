/**
 * The index samplers: instance, class-balanced, square-root (any power q), progressive and m-per-class.
 * Each is a pure function of the labels and the context's Rng: the whole epoch is drawn when `batches`
 * is called, so how many batches a consumer reads never changes what the stream produces next.
 */
import { invalid, LongTailError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { permutation } from '../core/rng.js';
import { checkFinite, checkInteger } from '../core/validate.js';
import {
  ClassQueues,
  classSamplingProbabilities,
  drawClasses,
  progressiveProbabilities,
  setupEpoch,
  splitBatches,
} from './class-draws.js';
import type { Sampler, SamplerContext, SamplerTarget, SamplerTargetOptions } from './types.js';

/** Options every sampler accepts. */
export interface EpochOptions {
  /** Samples per epoch. Default N, the number of labels. */
  readonly numSamples?: number;
}

const EPOCH_KEYS: OptionKeys<EpochOptions> = { numSamples: true };
const POWER_KEYS: OptionKeys<PowerSamplerOptions> = { numSamples: true, q: true };
const M_PER_CLASS_KEYS: OptionKeys<MPerClassOptions> = { numSamples: true, m: true };
const TARGET_KEYS: OptionKeys<SamplerTargetOptions> = { epoch: true, totalEpochs: true };

/** p_j ∝ n_j^q as a {@link SamplerTarget} with one sample per draw, after checking the target options. */
function powerTarget(kind: string, counts: ArrayLike<number>, options: SamplerTargetOptions | undefined, q: number): SamplerTarget {
  checkOptions(`${kind} targetDistribution options`, options, TARGET_KEYS);
  return { probabilities: classSamplingProbabilities(counts, { q }), samplesPerDraw: 1 };
}

function epochConfig(options: EpochOptions): JsonObject {
  if (options.numSamples === undefined) return {};
  checkInteger('numSamples', options.numSamples, { min: 1 });
  return { numSamples: options.numSamples };
}

/** Class-aware draw: numSamples classes from p, then the next sample of each from its class queue. */
function classAwareEpoch(labels: Int32Array, ctx: SamplerContext, numSamples: number, p: Float64Array): Int32Array[] {
  const classes = drawClasses(p, numSamples, ctx.rng);
  const queues = new ClassQueues(labels, p.length, ctx.rng);
  return splitBatches(
    classes.map((j) => queues.next(j)),
    ctx.batchSize,
  );
}

/**
 * Instance-balanced sampling: each epoch is a random permutation of all N samples (repeated, with fresh
 * permutations, when numSamples > N), so class j appears with frequency n_j / N.
 */
export function instanceSampler(options: EpochOptions = {}): Sampler {
  checkOptions('instanceSampler options', options, EPOCH_KEYS);
  const config = epochConfig(options);
  return {
    kind: 'instance',
    config,
    batches(labels, ctx) {
      const { numSamples } = setupEpoch(labels, ctx, options.numSamples);
      const n = labels.length;
      const order = new Int32Array(numSamples);
      for (let s = 0; s < numSamples; s += n) {
        const perm = permutation(ctx.rng, n);
        order.set(perm.subarray(0, Math.min(n, numSamples - s)), s);
      }
      return splitBatches(order, ctx.batchSize);
    },
    targetDistribution: (counts, o) => powerTarget('instanceSampler', counts, o, 1),
  };
}

/** Options of {@link powerSampler}. */
export interface PowerSamplerOptions extends EpochOptions {
  /** The exponent q in p_j ∝ n_j^q. Default 1/2 (square-root sampling). */
  readonly q?: number;
}

/**
 * Class-aware sampling with p_j ∝ n_j^q (Kang et al. 2020, eq. 1): each draw picks class j with
 * probability p_j, then the next sample of a shuffled per-class queue. q = 0 is class-balanced, q = 1/2
 * square-root, q = 1 matches instance sampling in expectation.
 */
export function powerSampler(options: PowerSamplerOptions = {}): Sampler {
  checkOptions('powerSampler options', options, POWER_KEYS);
  const q = checkFinite('q', options.q ?? 0.5);
  return classAwarePower('power', { ...epochConfig(options), q }, options, q, 'powerSampler');
}

/**
 * Square-root sampling, p_j ∝ √n_j (Mahajan et al. 2018): {@link powerSampler} at q = 1/2, registered
 * as its own kind (`'squareRoot'`, no `q`).
 */
export function squareRootSampler(options: EpochOptions = {}): Sampler {
  checkOptions('squareRootSampler options', options, EPOCH_KEYS);
  return classAwarePower('squareRoot', epochConfig(options), options, 0.5, 'squareRootSampler');
}

function classAwarePower(kind: 'power' | 'squareRoot', config: JsonObject, options: EpochOptions, q: number, where: string): Sampler {
  return {
    kind,
    config,
    batches(labels, ctx) {
      const { counts, numSamples } = setupEpoch(labels, ctx, options.numSamples);
      return classAwareEpoch(labels, ctx, numSamples, classSamplingProbabilities(counts, { q }));
    },
    targetDistribution: (counts, o) => powerTarget(where, counts, o, q),
  };
}

/** Class-balanced sampling, p_j = 1 / C over the classes present (Shen et al. 2016; Kang et al. 2020). */
export function classBalancedSampler(options: EpochOptions = {}): Sampler {
  checkOptions('classBalancedSampler options', options, EPOCH_KEYS);
  const config = epochConfig(options);
  return {
    kind: 'classBalanced',
    config,
    batches(labels, ctx) {
      const { counts, numSamples } = setupEpoch(labels, ctx, options.numSamples);
      return classAwareEpoch(labels, ctx, numSamples, classSamplingProbabilities(counts, { q: 0 }));
    },
    targetDistribution: (counts, o) => powerTarget('classBalancedSampler', counts, o, 0),
  };
}

/**
 * Progressively-balanced sampling (Kang et al. 2020): at epoch t of T,
 * p_j(t) = (1 − t/T) · n_j / N + (t/T) · 1 / C — instance sampling at the first epoch, moving linearly
 * towards class-balanced.
 */
export function progressiveSampler(options: EpochOptions = {}): Sampler {
  checkOptions('progressiveSampler options', options, EPOCH_KEYS);
  const config = epochConfig(options);
  return {
    kind: 'progressive',
    config,
    batches(labels, ctx) {
      const { counts, numSamples } = setupEpoch(labels, ctx, options.numSamples);
      const p = progressiveProbabilities(counts, { epoch: ctx.epoch, totalEpochs: ctx.totalEpochs });
      return classAwareEpoch(labels, ctx, numSamples, p);
    },
    targetDistribution(counts, o) {
      const { epoch, totalEpochs } = checkOptions('progressiveSampler targetDistribution options', o, TARGET_KEYS);
      if (epoch === undefined || totalEpochs === undefined) {
        const name = epoch === undefined ? 'epoch' : 'totalEpochs';
        throw new LongTailError('MISSING_INPUT', `expected the progressive target to be given epoch and totalEpochs. Received: ${name}=undefined`, { name });
      }
      return { probabilities: progressiveProbabilities(counts, { epoch, totalEpochs }), samplesPerDraw: 1 };
    },
  };
}

/** Options of {@link mPerClassSampler}. */
export interface MPerClassOptions extends EpochOptions {
  /** Samples per chosen class in every batch; batchSize must be a multiple of m. */
  readonly m: number;
}

/**
 * m-per-class sampling (as pytorch-metric-learning's MPerClassSampler): every batch holds batchSize / m
 * distinct classes chosen uniformly at random among the classes present, with m samples each (from
 * shuffled per-class queues; a class with fewer than m samples repeats some). An epoch is
 * ⌈numSamples / batchSize⌉ full batches, so it covers at least numSamples samples.
 *
 * @throws LongTailError `INVALID_OPTION` when batchSize is not a multiple of m or asks for more classes
 *   per batch than are present.
 */
export function mPerClassSampler(options: MPerClassOptions): Sampler {
  checkOptions('mPerClassSampler options', options, M_PER_CLASS_KEYS);
  const m = checkInteger('m', options.m, { min: 1 });
  const config = { ...epochConfig(options), m };
  return {
    kind: 'mPerClass',
    config,
    batches(labels, ctx) {
      const { counts, numSamples } = setupEpoch(labels, ctx, options.numSamples);
      if (ctx.batchSize % m !== 0) {
        throw invalid('INVALID_OPTION', `batchSize to be a multiple of m=${m}`, 'batchSize', ctx.batchSize);
      }
      const present = Int32Array.from(
        Array.from(counts.keys()).filter((j) => (counts[j] as number) > 0),
      );
      const perBatch = ctx.batchSize / m;
      if (perBatch > present.length) {
        throw invalid('INVALID_OPTION', `batchSize / m <= ${present.length} (the number of classes present)`, 'batchSize / m', perBatch, {
          batchSize: ctx.batchSize,
          m,
        });
      }
      const queues = new ClassQueues(labels, counts.length, ctx.rng);
      const numBatches = Math.ceil(numSamples / ctx.batchSize);
      const order = new Int32Array(numBatches * ctx.batchSize);
      let o = 0;
      for (let b = 0; b < numBatches; b++) {
        // Partial Fisher–Yates over the present classes: a uniform random subset of size perBatch.
        for (let k = 0; k < perBatch; k++) {
          const r = k + ctx.rng.int(present.length - k);
          const j = present[r] as number;
          present[r] = present[k] as number;
          present[k] = j;
          for (let s = 0; s < m; s++) order[o++] = queues.next(j);
        }
      }
      return splitBatches(order, ctx.batchSize);
    },
    // Each batch is a uniform random subset of the present classes, so every present class has the same
    // marginal share; a chosen class brings m samples at once.
    targetDistribution: (counts, o) => ({ ...powerTarget('mPerClassSampler', counts, o, 0), samplesPerDraw: m }),
  };
}
