/**
 * Frozen features for latent-space recipes ({@link extractFeatures}), and the option checks the ltls,
 * synLT and decoupled recipes share (backbone or default MLP, training options, data shapes).
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { Rng } from '../core/rng.js';
import { checkInteger, checkLabels, checkSameSize } from '../core/validate.js';
import type { LabeledData } from '../data/types.js';
import { identityBackbone, mlpBackbone } from '../models/backbones.js';
import type { Backbone, Model } from '../models/types.js';
import { createSampler, type SamplerSpec } from '../samplers/index.js';
import { createOptimizer, type OptimizerSpec } from '../train/optimizers.js';
import { lrSchedule, type LrScheduleSpec } from '../train/schedules.js';

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

// ---------------------------------------------------------------------------------------------------
// Shared option checks (internal: not exported from the package).
// ---------------------------------------------------------------------------------------------------

/** The training options every recipe stage takes, resolved. */
export interface StageOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: OptimizerSpec;
  readonly learningRate: LrScheduleSpec;
  readonly sampler: SamplerSpec;
}

/** The Fashion-MNIST-LT protocol of shared/benchmarks.md: Adam 1e-3 with L2 5e-4. */
export const PROTOCOL_OPTIMIZER: OptimizerSpec = { kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 };

/**
 * Validates a stage's training options without making tensors (the trainer checks them too, but only
 * after the recipe's model exists). `prefix` names the options in messages, e.g. `stage2.`.
 */
export function resolveStage(
  prefix: string,
  o: { readonly epochs?: number; readonly batchSize?: number; readonly optimizer?: OptimizerSpec; readonly learningRate?: LrScheduleSpec; readonly sampler?: SamplerSpec },
  defaults: StageOptions,
  minEpochs = 1,
): StageOptions {
  const epochs = checkInteger(`${prefix}epochs`, o.epochs ?? defaults.epochs, { min: minEpochs });
  const batchSize = checkInteger(`${prefix}batchSize`, o.batchSize ?? defaults.batchSize, { min: 1 });
  const optimizer = o.optimizer ?? defaults.optimizer;
  const learningRate = o.learningRate ?? defaults.learningRate;
  const sampler = o.sampler ?? defaults.sampler;
  if (optimizer === null || typeof optimizer !== 'object') throw invalid('INVALID_OPTION', `${prefix}optimizer to be an optimizer spec`, `${prefix}optimizer`, optimizer);
  if (learningRate === null || typeof learningRate !== 'object') {
    throw invalid('INVALID_OPTION', `${prefix}learningRate to be a schedule spec`, `${prefix}learningRate`, learningRate);
  }
  createOptimizer(optimizer).dispose();
  lrSchedule(learningRate, optimizer.learningRate);
  createSampler(sampler);
  return { epochs, batchSize, optimizer, learningRate, sampler };
}

/** `progress` is 'auto' or 'none'. */
export function checkProgress(progress: unknown): 'auto' | 'none' {
  const p = progress ?? 'auto';
  if (p !== 'auto' && p !== 'none') throw invalid('INVALID_OPTION', 'progress to be "auto" or "none"', 'progress', p);
  return p;
}

/** An options object (plain JS callers may pass anything). */
export function checkOptionsObject(options: unknown): void {
  if (options === null || typeof options !== 'object') throw invalid('INVALID_OPTION', 'an options object', 'options', options);
}

/** The model input of a recipe: a user backbone, or the default MLP on [N, inputDim] inputs. */
export interface ModelInput {
  /** Per-sample input shape the recipe checks its data against. */
  readonly inputShape: readonly number[] | null;
  readonly hiddenSizes: readonly number[];
  readonly inputDim: number | null;
}

/** Checks `backbone` xor (`inputDim`, `hiddenSizes`) before any tensor exists. */
export function resolveModelInput(o: { readonly backbone?: Backbone; readonly inputDim?: number; readonly hiddenSizes?: readonly number[] }, defaultHidden: readonly number[]): ModelInput {
  if (o.backbone !== undefined) {
    const b = o.backbone as Backbone | null;
    if (b === null || typeof b.apply !== 'function' || typeof b.outputDim !== 'number') {
      throw invalid('INVALID_OPTION', 'backbone to be a Backbone (mlpBackbone, cnnBackbone, ...)', 'backbone', typeof b);
    }
    if (o.hiddenSizes !== undefined) throw invalid('INVALID_OPTION', 'either backbone or hiddenSizes, not both', 'hiddenSizes', o.hiddenSizes);
    if (o.inputDim !== undefined) throw invalid('INVALID_OPTION', 'either backbone or inputDim, not both', 'inputDim', o.inputDim);
    return { inputShape: b.inputShape, hiddenSizes: [], inputDim: null };
  }
  if (o.inputDim === undefined) {
    throw new LongTailError('MISSING_INPUT', 'expected inputDim (for the default MLP) or a backbone. Received: neither');
  }
  const inputDim = checkInteger('inputDim', o.inputDim, { min: 1 });
  const hidden = o.hiddenSizes ?? defaultHidden;
  if (!Array.isArray(hidden) || hidden.some((h) => !Number.isInteger(h) || h < 1)) {
    throw invalid('INVALID_OPTION', 'hiddenSizes to be an array of positive integers', 'hiddenSizes', hidden);
  }
  return { inputShape: [inputDim], hiddenSizes: [...hidden], inputDim };
}

/** The user's backbone, or the default MLP (`hiddenSizes: []` gives the identity: a linear model). */
export function buildBackbone(input: ModelInput, backbone: Backbone | undefined, rng: Rng): Backbone {
  if (backbone !== undefined) return backbone;
  const inputDim = input.inputDim as number;
  return input.hiddenSizes.length === 0 ? identityBackbone({ inputDim }) : mlpBackbone({ inputDim, hiddenSizes: input.hiddenSizes, rng });
}

/** `data` is { x: live Tensor, y } with labels in [0, numClasses) and (when known) the per-sample shape. */
export function checkRecipeData(data: LabeledData, name: string, numClasses: number, inputShape: readonly number[] | null): void {
  if (data === null || typeof data !== 'object' || !(data.x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', `${name} as { x: Tensor, y: Int32Array }`, name, data);
  if (data.x.isDisposed) throw new LongTailError('DISPOSED', `expected a live tensor ${name}.x. Received: a disposed tensor`, { name: `${name}.x` });
  if (inputShape !== null) {
    const shape = data.x.shape.slice(1);
    if (shape.length !== inputShape.length || shape.some((d, i) => d !== inputShape[i])) {
      throw new LongTailError(
        'SHAPE_MISMATCH',
        `expected ${name}.x of shape [N, ${inputShape.join(', ')}]. Received: ${name}.x.shape=[${data.x.shape.join(', ')}]`,
        { expected: [...inputShape], received: shape },
      );
    }
  }
  checkSameSize(`${name}.y.length = ${name}.x.shape[0]`, data.x.shape[0] ?? 0, `${name}.y.length`, data.y?.length ?? -1);
  checkLabels(`${name}.y`, data.y, numClasses);
}

/** The JSON form of a stage's options (for a run's `config`). */
export function stageJson(s: StageOptions): JsonObject {
  return {
    epochs: s.epochs,
    batchSize: s.batchSize,
    optimizer: s.optimizer as unknown as JsonObject,
    learningRate: s.learningRate as unknown as JsonObject,
    sampler: s.sampler as unknown as JsonObject,
  };
}
