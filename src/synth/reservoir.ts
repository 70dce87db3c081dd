/** Bounded per-class memory of real features: reservoir sampling (Vitter's Algorithm R) per class. */
import { seededRng, type Rng } from '../core/rng.js';
import { groupByClass, readBatch } from './input.js';
import type { FeatureBatch } from './types.js';

/** Keeps at most `capacity` feature rows per class, each a uniform sample of the rows seen so far. */
export class ClassReservoir {
  private readonly rows: Float32Array[] = [];
  private readonly sizes: Int32Array;
  private readonly seen: Float64Array;

  constructor(
    readonly numClasses: number,
    readonly dim: number,
    readonly capacity: number,
    private readonly rng: Rng,
  ) {
    this.sizes = new Int32Array(numClasses);
    this.seen = new Float64Array(numClasses);
    for (let c = 0; c < numClasses; c++) this.rows.push(new Float32Array(0));
  }

  /** Offers row `r` of `x` (row-major, width dim) to class `c`. */
  add(c: number, x: Float32Array, r: number): void {
    const d = this.dim;
    const seen = (this.seen[c] as number) + 1;
    this.seen[c] = seen;
    const size = this.sizes[c] as number;
    let slot: number;
    if (size < this.capacity) {
      slot = size;
      let store = this.rows[c] as Float32Array;
      if (store.length < (size + 1) * d) {
        const grown = new Float32Array(Math.min(this.capacity, Math.max(16, size * 2)) * d);
        grown.set(store);
        store = grown;
        this.rows[c] = grown;
      }
      this.sizes[c] = size + 1;
    } else {
      const j = Math.floor(this.rng.next() * seen);
      if (j >= this.capacity) return;
      slot = j;
    }
    (this.rows[c] as Float32Array).set(x.subarray(r * d, (r + 1) * d), slot * d);
  }

  /** Rows kept for class c (a view, size(c) × dim). */
  get(c: number): Float32Array {
    return (this.rows[c] as Float32Array).subarray(0, (this.sizes[c] as number) * this.dim);
  }

  size(c: number): number {
    return this.sizes[c] as number;
  }

  /** Rows seen (not kept) per class. */
  counts(): Float64Array {
    return new Float64Array(this.seen);
  }
}

/**
 * Adds a batch of real features to a per-class reservoir, creating it (seeded from `seed`) on the first
 * batch. Rows go in class order, then row order: a fixed order keeps the reservoir deterministic.
 * Validates the batch (labels, width, finiteness) before anything is stored. Returns the reservoir.
 */
export function observeIntoReservoir(
  reservoir: ClassReservoir | null,
  batch: FeatureBatch,
  options: { readonly numClasses: number; readonly capacity: number; readonly seed: number },
): ClassReservoir {
  const { x, y, d } = readBatch(batch, options.numClasses, reservoir?.dim);
  const target = reservoir ?? new ClassReservoir(options.numClasses, d, options.capacity, seededRng(options.seed).fork('reservoir'));
  const groups = groupByClass(y, options.numClasses);
  for (let c = 0; c < options.numClasses; c++) for (const r of groups[c] as Int32Array) target.add(c, x, r);
  return target;
}
