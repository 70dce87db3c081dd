/**
 * Seeded weight initialisation. Values are sampled into typed arrays from an {@link Rng}, so the same seed
 * gives bit-identical weights on every backend (tfjs' own initialisers draw from backend-independent but
 * unseeded streams unless given a seed, and differ from PyTorch's defaults).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../core/rng.js';
import { checkOneOf } from '../core/validate.js';

/**
 * Weight initialisers.
 * - `'pytorch'`: U(−1/√fanIn, 1/√fanIn) for weights and biases — PyTorch's default for `nn.Linear` and
 *   `nn.Conv2d` (kaiming_uniform with a = √5), so results are comparable with PyTorch references.
 * - `'heNormal'`: N(0, 2/fanIn) weights, zero biases (He et al. 2015), the usual choice before ReLU.
 * - `'glorotUniform'`: U(±√(6/(fanIn + fanOut))) weights, zero biases (Glorot & Bengio 2010, Keras default).
 * - `'zeros'`: all zeros (e.g. a head retrained from scratch in a convex stage).
 */
export type Initializer = 'pytorch' | 'heNormal' | 'glorotUniform' | 'zeros';

/** Every {@link Initializer}, for validation. */
export const INITIALIZERS: readonly Initializer[] = ['pytorch', 'heNormal', 'glorotUniform', 'zeros'];

/** Validates an initializer option. */
export function checkInitializer(name: string, value: Initializer): Initializer {
  return checkOneOf(name, value, INITIALIZERS);
}

/** Fan-in and fan-out of a weight (for a conv kernel: receptive field × channels). */
export interface Fans {
  readonly fanIn: number;
  readonly fanOut: number;
}

function uniform(rng: Rng, size: number, bound: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * rng.next() - 1) * bound;
  return out;
}

/** Samples weight values of `size` elements for the given initializer. */
export function initWeightValues(init: Initializer, size: number, fans: Fans, rng: Rng): Float32Array {
  switch (init) {
    case 'pytorch':
      return uniform(rng, size, 1 / Math.sqrt(fans.fanIn));
    case 'heNormal': {
      const std = Math.sqrt(2 / fans.fanIn);
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
      return out;
    }
    case 'glorotUniform':
      return uniform(rng, size, Math.sqrt(6 / (fans.fanIn + fans.fanOut)));
    case 'zeros':
      return new Float32Array(size);
  }
}

/** Samples bias values: U(±1/√fanIn) for `'pytorch'`, zeros otherwise. */
export function initBiasValues(init: Initializer, size: number, fans: Fans, rng: Rng): Float32Array {
  return init === 'pytorch' ? uniform(rng, size, 1 / Math.sqrt(fans.fanIn)) : new Float32Array(size);
}

/**
 * A variable holding `values` (unnamed, so tfjs gives it a unique name and any number of models can
 * coexist). Leaves exactly one tensor alive.
 */
export function makeVariable<R extends tf.Rank = tf.Rank>(
  values: Float32Array,
  shape: readonly number[],
  trainable: boolean,
): tf.Variable<R> {
  return tf.tidy(() => tf.variable(tf.tensor(values, [...shape], 'float32') as unknown as tf.Tensor<R>, trainable));
}
