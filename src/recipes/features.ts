/**
 * Frozen features for latent-space recipes ({@link extractFeatures}) and the encoder checks of the ltls
 * recipe. The option checks every recipe shares are in `common.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkInteger } from '../core/validate.js';
import type { Backbone, Model } from '../models/types.js';
import { encode, mapBatches } from '../models/encode.js';

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
 * no dropout) in batches of `batchSize` rows, each inside `tf.tidy` ({@link encode} for a model,
 * {@link mapBatches} otherwise):
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
  if (isModel(encoder)) return encode(encoder, x, { output: 'embeddings', batchSize });
  const map = typeof encoder === 'function' ? encoder : (xb: tf.Tensor): tf.Tensor2D => encoder.apply(xb, 'eval');
  // Checked per batch (inside mapBatches' tidy, so a bad batch frees itself) to name the expected [B, d].
  const f = (xb: tf.Tensor): tf.Tensor2D => {
    const part = map(xb);
    const size = xb.shape[0] as number;
    if (part.rank !== 2 || part.shape[0] !== size) {
      throw new LongTailError('SHAPE_MISMATCH', `expected encoded features of shape [${size}, d]. Received: shape=[${part.shape.join(', ')}]`, { name: 'encoder' });
    }
    return part;
  };
  return mapBatches(x, f, { batchSize }) as tf.Tensor2D;
}
