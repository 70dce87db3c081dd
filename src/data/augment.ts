/**
 * Seeded augmentations of image batches [N, H, W, C] (NHWC): random crop with zero padding, horizontal
 * flip, MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019). Every function tidies its intermediates
 * and returns new tensors the caller owns; randomness comes only from the `rng` passed in.
 */
import * as tf from '@tensorflow/tfjs';
import { invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { permutation, sampleBeta } from '../core/rng.js';
import type { Rng } from '../core/rng.js';
import { checkInteger, checkLabels, checkPositive, checkRange, checkRank, checkSameSize } from '../core/validate.js';
import type { ViewTransform } from './types.js';

/** Options of {@link randomCrop}. */
export interface RandomCropOptions {
  /** Zero padding added on every side before cropping back to H × W. */
  readonly padding: number;
  readonly rng: Rng;
}

const CROP_KEYS: OptionKeys<RandomCropOptions> = { padding: true, rng: true };

/**
 * Pads each image by `padding` zeros on every side and crops an H × W window at a uniformly random offset
 * (oy, ox) ∈ {0..2p}² per image — the standard CIFAR augmentation.
 */
export function randomCrop(images: tf.Tensor4D, options: RandomCropOptions): tf.Tensor4D {
  checkOptions('randomCrop options', options, CROP_KEYS);
  checkRank('images', images.shape, 4);
  const p = checkInteger('padding', options.padding);
  const [n, h, w, c] = images.shape;
  const hp = h + 2 * p;
  const wp = w + 2 * p;
  // One flat gather over the padded pixels: row index of output pixel (i, y, x) in [N·Hp·Wp, C].
  const index = new Int32Array(n * h * w);
  for (let i = 0; i < n; i++) {
    const oy = options.rng.int(2 * p + 1);
    const ox = options.rng.int(2 * p + 1);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) index[(i * h + y) * w + x] = (i * hp + y + oy) * wp + x + ox;
    }
  }
  return tf.tidy(() => {
    const padded = tf.pad(images, [
      [0, 0],
      [p, p],
      [p, p],
      [0, 0],
    ]);
    const rows = tf.reshape(padded, [n * hp * wp, c]);
    return tf.reshape(tf.gather(rows, tf.tensor1d(index, 'int32')), [n, h, w, c]);
  });
}

/** Options of {@link randomFlip}. */
export interface RandomFlipOptions {
  readonly rng: Rng;
  /** Probability of flipping each image. Default 0.5. */
  readonly probability?: number;
}

const FLIP_KEYS: OptionKeys<RandomFlipOptions> = { rng: true, probability: true };

/** Mirrors each image left–right (along W) with probability `probability`. */
export function randomFlip(images: tf.Tensor4D, options: RandomFlipOptions): tf.Tensor4D {
  checkOptions('randomFlip options', options, FLIP_KEYS);
  checkRank('images', images.shape, 4);
  const prob = checkRange('probability', options.probability ?? 0.5, { min: 0, max: 1 });
  const n = images.shape[0];
  const flip = new Float32Array(n);
  for (let i = 0; i < n; i++) flip[i] = options.rng.next() < prob ? 1 : 0;
  return tf.tidy(() => {
    const mask = tf.tensor4d(flip, [n, 1, 1, 1]);
    const mirrored = tf.reverse(images, 2);
    return tf.add(tf.mul(mirrored, mask), tf.mul(images, tf.sub(1, mask))) as tf.Tensor4D;
  });
}

/** Options shared by {@link mixup} and {@link cutmix}. */
export interface MixOptions {
  readonly numClasses: number;
  readonly rng: Rng;
  /** λ ~ Beta(α, α). Default 1 (uniform). */
  readonly alpha?: number;
}

/** A mixed batch: new tensors the caller owns. */
export interface MixResult {
  /** Mixed images [N, H, W, C]. */
  readonly images: tf.Tensor4D;
  /** Soft targets [N, numClasses]: λ · onehot(y_i) + (1 − λ) · onehot(y_perm[i]). */
  readonly targets: tf.Tensor2D;
  /** Partner of every sample: sample i is mixed with sample `permutation[i]`. */
  readonly permutation: Int32Array;
  /** The weight λ of the original sample in `targets`. */
  readonly lambda: number;
}

function checkMixInputs(images: tf.Tensor4D, labels: Int32Array, options: MixOptions): number {
  checkRank('images', images.shape, 4);
  checkInteger('numClasses', options.numClasses, { min: 1 });
  checkLabels('labels', labels, options.numClasses);
  checkSameSize('labels.length = images.shape[0]', images.shape[0], 'labels.length', labels.length);
  return checkPositive('alpha', options.alpha ?? 1);
}

function softTargets(labels: Int32Array, perm: Int32Array, lambda: number, numClasses: number): tf.Tensor2D {
  const n = labels.length;
  const t = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const a = i * numClasses + (labels[i] as number);
    const b = i * numClasses + (labels[perm[i] as number] as number);
    t[a] = (t[a] as number) + lambda;
    t[b] = (t[b] as number) + 1 - lambda;
  }
  return tf.tensor2d(t, [n, numClasses]);
}

const MIX_KEYS: OptionKeys<MixOptions> = { numClasses: true, rng: true, alpha: true };

/**
 * MixUp (Zhang et al. 2018, "mixup: Beyond Empirical Risk Minimization"): one λ ~ Beta(α, α) per batch and
 * a random permutation π; x̃_i = λ x_i + (1 − λ) x_π(i), ỹ_i = λ e_{y_i} + (1 − λ) e_{y_π(i)}.
 */
export function mixup(images: tf.Tensor4D, labels: Int32Array, options: MixOptions): MixResult {
  checkOptions('mixup options', options, MIX_KEYS);
  const alpha = checkMixInputs(images, labels, options);
  const lambda = sampleBeta(options.rng, alpha, alpha);
  const perm = permutation(options.rng, labels.length);
  const mixed = tf.tidy(() => {
    const partner = tf.gather(images, tf.tensor1d(perm, 'int32'));
    return tf.add(tf.mul(images, lambda), tf.mul(partner, 1 - lambda)) as tf.Tensor4D;
  });
  return { images: mixed, targets: softTargets(labels, perm, lambda, options.numClasses), permutation: perm, lambda };
}

/** Options of {@link cutmix}. */
export interface CutMixOptions extends MixOptions {
  /**
   * Re-set λ to the kept area 1 − box area / (H·W) after clipping the box to the image (the CutMix paper's
   * code). Default true; `false` keeps the sampled λ for the targets, as SAU's code does.
   */
  readonly adjustLambda?: boolean;
}

/** A CutMix batch: the pasted box in pixel coordinates [y1, y2) × [x1, x2). */
export interface CutMixResult extends MixResult {
  readonly box: { readonly y1: number; readonly x1: number; readonly y2: number; readonly x2: number };
  /** λ as sampled from Beta(α, α), before any area adjustment. */
  readonly sampledLambda: number;
}

const CUTMIX_KEYS: OptionKeys<CutMixOptions> = { ...MIX_KEYS, adjustLambda: true };

/**
 * CutMix (Yun et al. 2019, "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable
 * Features"): λ ~ Beta(α, α); a box of ⌊H√(1−λ)⌋ × ⌊W√(1−λ)⌋ centred at a uniform pixel (clipped to the
 * image) is pasted from the partner x_π(i) into x_i. Targets use λ' = 1 − area / (H·W) (or λ with
 * `adjustLambda: false`).
 */
export function cutmix(images: tf.Tensor4D, labels: Int32Array, options: CutMixOptions): CutMixResult {
  checkOptions('cutmix options', options, CUTMIX_KEYS);
  const alpha = checkMixInputs(images, labels, options);
  const [n, h, w] = images.shape;
  const sampledLambda = sampleBeta(options.rng, alpha, alpha);
  const perm = permutation(options.rng, n);
  const ratio = Math.sqrt(1 - sampledLambda);
  const cutH = Math.floor(h * ratio);
  const cutW = Math.floor(w * ratio);
  const cy = options.rng.int(h);
  const cx = options.rng.int(w);
  const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  const box = {
    y1: clip(cy - Math.floor(cutH / 2), h),
    y2: clip(cy + Math.floor(cutH / 2), h),
    x1: clip(cx - Math.floor(cutW / 2), w),
    x2: clip(cx + Math.floor(cutW / 2), w),
  };
  const area = (box.y2 - box.y1) * (box.x2 - box.x1);
  const lambda = options.adjustLambda === false ? sampledLambda : 1 - area / (h * w);
  const mask = new Float32Array(h * w);
  for (let y = box.y1; y < box.y2; y++) mask.fill(1, y * w + box.x1, y * w + box.x2);
  const mixed = tf.tidy(() => {
    const m = tf.tensor4d(mask, [1, h, w, 1]);
    const partner = tf.gather(images, tf.tensor1d(perm, 'int32'));
    return tf.add(tf.mul(images, tf.sub(1, m)), tf.mul(partner, m)) as tf.Tensor4D;
  });
  return {
    images: mixed,
    targets: softTargets(labels, perm, lambda, options.numClasses),
    permutation: perm,
    lambda,
    sampledLambda,
    box,
  };
}

/** Options of {@link mixupView} and {@link cutmixView}. */
export interface MixViewOptions {
  readonly numClasses: number;
  /** λ ~ Beta(α, α). @defaultValue 1 */
  readonly alpha?: number;
  /**
   * How each flat sample [D] is seen as an image [H, W, C] (H·W·C = D). Required by CutMix for flat inputs;
   * MixUp does not need it (it mixes any sample shape).
   */
  readonly imageShape?: readonly [number, number, number];
}

/** Options of {@link cutmixView}. */
export interface CutMixViewOptions extends MixViewOptions {
  /** See {@link CutMixOptions.adjustLambda}. @defaultValue true */
  readonly adjustLambda?: boolean;
}

const MIX_VIEW_KEYS: OptionKeys<MixViewOptions> = { numClasses: true, alpha: true, imageShape: true };
const CUTMIX_VIEW_KEYS: OptionKeys<CutMixViewOptions> = { ...MIX_VIEW_KEYS, adjustLambda: true };

function checkViewOptions(where: string, o: MixViewOptions): void {
  checkInteger(`${where}.numClasses`, o.numClasses, { min: 1 });
  checkPositive(`${where}.alpha`, o.alpha ?? 1);
  if (o.imageShape !== undefined) {
    const ok = Array.isArray(o.imageShape) && o.imageShape.length === 3 && o.imageShape.every((d) => Number.isInteger(d) && d >= 1);
    if (!ok) throw invalid('INVALID_OPTION', 'imageShape [H, W, C] of positive integers', `${where}.imageShape`, o.imageShape);
  }
}

/** A batch as images [B, H, W, C]: images stay, other shapes are reshaped by `imageShape`. */
function asImages(x: tf.Tensor, imageShape: readonly [number, number, number] | undefined, where: string): tf.Tensor4D {
  if (imageShape === undefined) {
    if (x.rank === 4) return x as tf.Tensor4D;
    throw invalid('MISSING_INPUT', `imageShape [H, W, C] for inputs that are not images (${where} cuts boxes out of images)`, 'imageShape', undefined);
  }
  const size = x.shape.slice(1).reduce((a, b) => a * b, 1);
  checkSameSize(`imageShape H·W·C = sample size ${size}`, size, 'imageShape product', imageShape[0] * imageShape[1] * imageShape[2]);
  return tf.reshape(x, [x.shape[0] ?? 0, ...imageShape]) as tf.Tensor4D;
}

/**
 * MixUp as a trainer view ({@link mixup}): x̃ = λx + (1 − λ)x_π with soft targets, on samples of any
 * shape (flat feature vectors included: mixing needs no image structure). λ and π come from the step's
 * stream.
 *
 * @example
 * ```ts
 * trainer({ ..., views: { mixup: mixupView({ numClasses: 10 }) }, loss: viewCrossEntropyLoss({ views: ['mixup'] }) });
 * ```
 */
export function mixupView(options: MixViewOptions): ViewTransform {
  checkOptions('mixupView options', options, MIX_VIEW_KEYS);
  checkViewOptions('mixupView options', options);
  const { numClasses } = options;
  const alpha = options.alpha ?? 1;
  return ({ x, labels, rng }) => {
    const shape = x.shape;
    const images = x.rank === 4 ? (x as tf.Tensor4D) : (tf.reshape(x, [shape[0] ?? 0, 1, 1, shape.slice(1).reduce((a, b) => a * b, 1)]) as tf.Tensor4D);
    const m = mixup(images, labels, { numClasses, rng, alpha });
    return { x: x.rank === 4 ? m.images : tf.reshape(m.images, shape), targets: m.targets };
  };
}

/**
 * CutMix as a trainer view ({@link cutmix}): a box of another sample pasted into each image, soft targets
 * by area (or by the sampled λ with `adjustLambda: false`, as SAU). Needs images: 4-d inputs, or flat ones
 * with `imageShape`.
 *
 * @example
 * ```ts
 * views: { cutmix: cutmixView({ numClasses: 10, imageShape: [28, 28, 1], adjustLambda: false }) }
 * ```
 */
export function cutmixView(options: CutMixViewOptions): ViewTransform {
  checkOptions('cutmixView options', options, CUTMIX_VIEW_KEYS);
  checkViewOptions('cutmixView options', options);
  const { numClasses, imageShape } = options;
  const alpha = options.alpha ?? 1;
  const adjustLambda = options.adjustLambda ?? true;
  return ({ x, labels, rng }) => {
    const c = cutmix(asImages(x, imageShape, 'cutmixView'), labels, { numClasses, rng, alpha, adjustLambda });
    return { x: x.rank === 4 ? c.images : tf.reshape(c.images, x.shape), targets: c.targets };
  };
}
