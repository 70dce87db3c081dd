/**
 * Frozen features for latent-space recipes ({@link extractFeatures}) and the encoder checks of the ltls
 * recipe. The option checks every recipe shares are in `common.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkInteger } from '../core/validate.js';
import type { Backbone, Model } from '../models/types.js';

/**
 * What turns inputs into features: a {@link Model} (its eval-mode `embeddings`), a {@link Backbone}
 * (`apply(x, 'eval')`), or a function `x [B, ...] → features [B, d]` (called inside `tf.tidy`).
 */
export type FeatureEncoder = Model | Backbone | ((x: tf.Tensor) => tf.Tensor2D);

/** Options of {@link extractFeatures}. */
export interface ExtractFeaturesOptions {
  /** Rows per forward pass. @defaultValue 512 */
  readonly batchSize?: number;
}

function isModel(e: FeatureEncoder): e is Model {
  return typeof e === 'object' && e !== null && typeof (e as Model).forward === 'function';
}

function isBackbone(e: FeatureEncoder): e is Backbone {
  return typeof e === 'object' && e !== null && typeof (e as Backbone).apply === 'function' && typeof (e as Backbone).outputDim === 'number';
}

/** Checks an encoder before any tensor is made. */
export function checkEncoder(name: string, encoder: FeatureEncoder): void {
  if (typeof encoder === 'function') return;
  if (isModel(encoder)) {
    if (!encoder.provides.includes('embeddings')) {
      throw new LongTailError('MISSING_INPUT', `expected ${name} to provide embeddings. Received: provides=[${encoder.provides.join(', ')}]`);
    }
    return;
  }
  if (isBackbone(encoder)) return;
  throw invalid('INVALID_OPTION', `${name} to be a Model, a Backbone or a function x → features`, name, typeof encoder);
}

/** Width of an encoder's features, when it declares one (functions do not). */
export function encoderDim(encoder: FeatureEncoder): number | null {
  if (typeof encoder === 'function') return null;
  if (isModel(encoder)) return encoder.featureDim;
  return encoder.outputDim;
}

const EXTRACT_KEYS: OptionKeys<ExtractFeaturesOptions> = { batchSize: true };

/**
 * Frozen features of `x` under `encoder`, computed in eval mode (batch norm uses its moving statistics,
 * no dropout) in batches of `batchSize` rows, each inside `tf.tidy`:
 *
 *   F = [f(x_1); …; f(x_N)] ∈ ℝ^{N×d}, f = embeddings of a Model, apply(·, 'eval') of a Backbone, or the
 *   given function.
 *
 * The first step of latent-space methods (Sharma 2025, "Efficient Long-Tail Learning in Latent Space"):
 * go from images to the features {@link ltls} trains on. The encoder and `x` are not disposed; the
 * caller owns the result.
 *
 * @throws LongTailError before any tensor is made: `INVALID_OPTION` (bad encoder or batch size),
 *   `MISSING_INPUT` (a model without embeddings); `SHAPE_MISMATCH` when a function returns other than
 *   [B, d].
 * @example
 * ```ts
 * const features = extractFeatures(trainedModel, images.x, { batchSize: 256 }); // [N, featureDim]
 * const run = ltls({ seed: 0, numClasses: 10, featureDim: features.shape[1] });
 * await run.fit({ x: features, y: images.y });
 * ```
 */
export function extractFeatures(encoder: FeatureEncoder, x: tf.Tensor, options: ExtractFeaturesOptions = {}): tf.Tensor2D {
  checkOptions('extractFeatures options', options, EXTRACT_KEYS);
  checkEncoder('encoder', encoder);
  if (!(x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', 'x to be a tf.Tensor', 'x', typeof x);
  if (x.isDisposed) throw new LongTailError('DISPOSED', 'expected a live tensor x. Received: a disposed tensor', { name: 'x' });
  const batchSize = checkInteger('batchSize', options.batchSize ?? 512, { min: 1 });
  const n = x.shape[0] ?? 0;
  const f = (xb: tf.Tensor): tf.Tensor2D => {
    if (typeof encoder === 'function') return encoder(xb);
    if (isModel(encoder)) return encoder.forward(xb, 'eval').embeddings as tf.Tensor2D;
    return encoder.apply(xb, 'eval');
  };
  const starts: number[] = [];
  for (let start = 0; start < n; start += batchSize) starts.push(start);
  if (n === 0) starts.push(0);
  const parts: tf.Tensor2D[] = [];
  try {
    for (const start of starts) {
      const size = Math.min(batchSize, n - start);
      const part = tf.tidy(() => {
        const begin = x.shape.map((_, a) => (a === 0 ? start : 0));
        return f(tf.slice(x, begin, [size, ...x.shape.slice(1)]));
      });
      parts.push(part);
      if (part.rank !== 2 || part.shape[0] !== size) {
        throw new LongTailError('SHAPE_MISMATCH', `expected encoded features of shape [${size}, d]. Received: shape=[${part.shape.join(', ')}]`, { name: 'encoder' });
      }
    }
    return tf.tidy(() => (parts.length === 1 ? (parts[0] as tf.Tensor2D).clone() : tf.concat2d(parts, 0)));
  } finally {
    parts.forEach((p) => p.dispose());
  }
}
