/**
 * SMOTE in latent space (Chawla et al., JAIR 2002), the classic oversampling baseline: interpolate
 * between a class sample and one of its k nearest neighbours within the same class.
 */
import * as tf from '@tensorflow/tfjs';
import { invalid } from '../core/errors.js';
import { kNearest } from '../core/neighbors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import type { JsonObject } from '../core/json.js';
import type { Rng } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkInteger, checkOneOf } from '../core/validate.js';
import { checkPerClass, tooFew } from './input.js';
import { ClassReservoir, observeIntoReservoir } from './reservoir.js';
import type { FeatureBatch, LabeledFeatures, SynthesisRequest, Synthesizer } from './types.js';

/** Options of {@link LatentSmote} (plain JSON). */
export interface LatentSmoteOptions {
  readonly numClasses: number;
  /** Neighbours per sample. @defaultValue 5 */
  readonly k?: number;
  /**
   * A class with exactly one stored sample: `'error'` throws `EMPTY_CLASS` (there is nothing to
   * interpolate with); `'duplicate'` returns copies of that sample. @defaultValue 'error'
   */
  readonly singleSample?: 'error' | 'duplicate';
  /** Rows kept per class (reservoir sampling beyond it). @defaultValue 10000 */
  readonly reservoirSize?: number;
  /** Seed of the reservoir's replacement choices. @defaultValue 0 */
  readonly reservoirSeed?: number;
}

const SMOTE_KEYS: OptionKeys<LatentSmoteOptions> = { numClasses: true, k: true, singleSample: true, reservoirSize: true, reservoirSeed: true };

/**
 * SMOTE over stored latent features. Each synthetic sample of class c: a base row x_i uniform over the
 * class's stored rows, a neighbour x_nn uniform over its k′ = min(k, n_c − 1) nearest other rows of the
 * class (Euclidean; ties by index; one batched search per class over the distinct base rows, see
 * {@link kNearest}), u ~ U(0, 1), and x = x_i + u·(x_nn − x_i). Classes with fewer than
 * k + 1 rows use all their n_c − 1 neighbours; a class with one row follows `singleSample`; a class
 * with none throws `EMPTY_CLASS` when samples are requested for it.
 */
export class LatentSmote implements Synthesizer {
  readonly kind = 'latentSmote';
  readonly numClasses: number;
  private readonly options: Required<LatentSmoteOptions>;
  private readonly guard = new DisposeGuard('LatentSmote');
  private reservoir: ClassReservoir | null = null;

  constructor(options: LatentSmoteOptions) {
    this.options = resolveLatentSmoteOptions(options);
    this.numClasses = this.options.numClasses;
  }

  get config(): JsonObject {
    return { ...this.options };
  }

  observe(batch: FeatureBatch): void {
    this.guard.check();
    this.reservoir = observeIntoReservoir(this.reservoir, batch, {
      numClasses: this.numClasses,
      capacity: this.options.reservoirSize,
      seed: this.options.reservoirSeed,
    });
  }

  /** Forgets the observed features. */
  reset(): void {
    this.guard.check();
    this.reservoir = null;
  }

  observedCounts(): Float64Array {
    this.guard.check();
    return this.reservoir === null ? new Float64Array(this.numClasses) : this.reservoir.counts();
  }

  /** New tensors owned by the caller: features [Σ perClass, d], labels int32, classes ascending. */
  sample(request: SynthesisRequest, rng: Rng): LabeledFeatures {
    this.guard.check();
    const perClass = checkPerClass(request?.perClass, this.numClasses);
    let total = 0;
    for (const k of perClass) total += k;
    const reservoir = this.reservoir;
    if (reservoir === null) {
      if (total === 0) return { features: tf.tensor2d([], [0, 0]), labels: tf.tensor1d([], 'int32') };
      throw tooFew(perClass.findIndex((k) => k > 0), 0, 2, 'SMOTE');
    }
    const d = reservoir.dim;
    for (let c = 0; c < this.numClasses; c++) {
      if ((perClass[c] as number) === 0) continue;
      const n = reservoir.size(c);
      if (n === 0 || (n === 1 && this.options.singleSample === 'error')) throw tooFew(c, n, 2, 'SMOTE interpolation');
    }
    const out = new Float32Array(total * d);
    const labels = new Int32Array(total);
    let at = 0;
    for (let c = 0; c < this.numClasses; c++) {
      const want = perClass[c] as number;
      if (want === 0) continue;
      labels.fill(c, at, at + want);
      smoteClass(reservoir.get(c), reservoir.size(c), d, { want, k: this.options.k }, rng, out.subarray(at * d, (at + want) * d));
      at += want;
    }
    return { features: tf.tensor2d(out, [total, d]), labels: tf.tensor1d(labels, 'int32') };
  }

  /** The synthesizer holds no tensors; frees its memory. Idempotent. */
  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.reservoir = null;
  }
}

/**
 * Fills `out` (want × d) with SMOTE samples of one class: draws every (base, neighbour slot, u) triple from
 * `rng` first (in sample order: base = rng.int(n), then, when n > 1, slot = rng.int(k′) and u = rng.next()),
 * then finds the k′ nearest neighbours of the distinct base rows in one batched self-search, then
 * interpolates. With n = 1 the samples are copies of the row.
 */
function smoteClass(rows: Float32Array, n: number, d: number, options: { readonly want: number; readonly k: number }, rng: Rng, out: Float32Array): void {
  const { want } = options;
  const kk = Math.min(options.k, n - 1);
  const base = new Int32Array(want);
  const slot = new Int32Array(want);
  const u = new Float64Array(want);
  for (let s = 0; s < want; s++) {
    base[s] = rng.int(n);
    if (kk === 0) continue;
    slot[s] = rng.int(kk);
    u[s] = rng.next();
  }
  if (kk === 0) {
    for (let s = 0; s < want; s++) out.set(rows.subarray((base[s] as number) * d, ((base[s] as number) + 1) * d), s * d);
    return;
  }
  const position = new Int32Array(n).fill(-1);
  const queries: number[] = [];
  for (let s = 0; s < want; s++) {
    const i = base[s] as number;
    if (position[i] === -1) {
      position[i] = queries.length;
      queries.push(i);
    }
  }
  const { indices } = kNearest({ values: rows, rows: n, cols: d }, { k: kk, rows: queries });
  for (let s = 0; s < want; s++) {
    const i = base[s] as number;
    const j = indices[(position[i] as number) * kk + (slot[s] as number)] as number;
    const w = u[s] as number;
    const o = s * d;
    for (let q = 0; q < d; q++) {
      const xi = rows[i * d + q] as number;
      out[o + q] = xi + w * ((rows[j * d + q] as number) - xi);
    }
  }
}

/**
 * Checks LatentSmote options and fills in the defaults, without building anything (the constructor runs
 * it; recipes run it to fail before their model exists).
 */
export function resolveLatentSmoteOptions(options: LatentSmoteOptions): Required<LatentSmoteOptions> {
  if (options === null || typeof options !== 'object') throw invalid('INVALID_OPTION', 'an options object', 'options', options);
  checkOptions('LatentSmote options', options, SMOTE_KEYS);
  return {
    numClasses: checkInteger('numClasses', options.numClasses, { min: 1 }),
    k: checkInteger('k', options.k ?? 5, { min: 1 }),
    singleSample: checkOneOf('singleSample', options.singleSample ?? 'error', ['error', 'duplicate'] as const),
    reservoirSize: checkInteger('reservoirSize', options.reservoirSize ?? 10000, { min: 1 }),
    reservoirSeed: checkInteger('reservoirSeed', options.reservoirSeed ?? 0, { min: Number.MIN_SAFE_INTEGER }),
  };
}
