/**
 * Classifier rebalancing of decoupled training (Kang et al., ICLR 2020, "Decoupling Representation and
 * Classifier for Long-Tailed Recognition"; official code facebookresearch/classifier-balancing):
 * τ-normalised class vectors and learnable weight scaling (LWS), as functions and head wrappers.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkOneOf } from '../core/validate.js';
import { checkInput, checkMode, checkPresent } from './check.js';
import { checkComponent } from './classifier.js';
import { WrapperHead, type LinearHead } from './heads.js';
import { makeVariable } from './init.js';
import type { ForwardMode, Head } from './types.js';

/** Options of {@link tauNormalize}. */
export interface TauNormalizeOptions {
  /** The exponent τ (finite): 0 leaves W unchanged, 1 gives unit-norm class vectors. */
  readonly tau: number;
}

const TAU_NORMALIZE_KEYS: OptionKeys<TauNormalizeOptions> = { tau: true };

function checkTau(tau: unknown): number {
  if (typeof tau !== 'number' || !Number.isFinite(tau)) throw invalid('INVALID_OPTION', 'tau to be a finite number', 'tau', tau);
  return tau;
}

function checkLinearHead(head: unknown): LinearHead {
  checkComponent('head', head, 'head');
  const h = head as LinearHead;
  if (h.kind !== 'linear' || !(h.kernel instanceof tf.Variable)) throw invalid('INVALID_OPTION', 'head to be a linear head (linearHead)', 'head.kind', h.kind);
  return h;
}

/**
 * τ-normalised classifier weights (Kang et al., ICLR 2020, §4): with W [D, C] whose column c is the class
 * vector w_c,
 *
 *   w̃_c = w_c / ‖w_c‖₂^τ,
 *
 * so τ = 0 leaves W unchanged and τ = 1 gives unit-norm columns (the official `pnorm` of
 * classifier-balancing). A zero column stays zero. Inside `tf.tidy`; the caller owns the result and keeps
 * `kernel`.
 *
 * @throws LongTailError `SHAPE_MISMATCH` (not rank 2), `INVALID_OPTION` (τ not finite), `UNKNOWN_OPTION`,
 *   before any tensor is made.
 * @example
 * ```ts
 * const normalised = tauNormalize(head.kernel, { tau: 1 }); // unit-norm class vectors
 * ```
 */
export function tauNormalize(kernel: tf.Tensor2D, options: TauNormalizeOptions): tf.Tensor2D {
  if (!(kernel instanceof tf.Tensor) || kernel.rank !== 2) {
    throw new LongTailError('SHAPE_MISMATCH', `expected kernel of rank 2 [D, C]. Received: kernel.shape=[${(kernel as tf.Tensor | undefined)?.shape?.join(', ') ?? ''}]`);
  }
  checkOptions('tauNormalize options', options, TAU_NORMALIZE_KEYS);
  const tau = checkTau(checkPresent('options', options).tau);
  if (kernel.isDisposed) throw new LongTailError('DISPOSED', 'expected a live tensor kernel. Received: kernel after dispose()', { name: 'kernel' });
  return tf.tidy(() => {
    const norms = tf.norm(kernel, 'euclidean', 0, true);
    // ‖w_c‖^τ, with zero columns divided by 1 (0/0 would be NaN).
    const safe = tf.where(tf.greater(norms, 0), norms, tf.onesLike(norms));
    return tf.div(kernel, tf.pow(safe, tau)) as tf.Tensor2D;
  });
}

/** What a τ-normalised head does with the linear head's bias. */
export type TauNormBias = 'drop' | 'keep';

/** Options of {@link tauNormalizedLogits}. */
export interface TauNormalizedLogitsOptions {
  /** The exponent τ (finite). */
  readonly tau: number;
  /** 'drop' (the official code: logits x·w̃_c, no bias) or 'keep' (x·w̃_c + b_c). @defaultValue 'drop' */
  readonly bias?: TauNormBias;
}

const TAU_LOGITS_KEYS: OptionKeys<TauNormalizedLogitsOptions> = { tau: true, bias: true };

/**
 * Logits of a linear head read through τ-normalised class vectors (Kang et al., ICLR 2020, §4): for
 * features x [N, D] and the head's W [D, C] and b [C],
 *
 *   z_c = x·w̃_c (+ b_c with `bias: 'keep'`),   w̃_c = w_c / ‖w_c‖₂^τ ({@link tauNormalize}).
 *
 * The head is read, never changed (a τ search evaluates many τ on one head). Inside `tf.tidy`; the caller
 * owns the result.
 *
 * @throws LongTailError `SHAPE_MISMATCH` / `DTYPE_MISMATCH` (features not [N, D] float32),
 *   `INVALID_OPTION` (not a linear head, τ not finite, unknown bias rule), `UNKNOWN_OPTION`, before any
 *   tensor is made.
 * @example
 * ```ts
 * const logits = tauNormalizedLogits(features, head, { tau: 0.8 }); // [N, C], no bias
 * ```
 */
export function tauNormalizedLogits(features: tf.Tensor2D, head: LinearHead, options: TauNormalizedLogitsOptions): tf.Tensor2D {
  checkOptions('tauNormalizedLogits options', options, TAU_LOGITS_KEYS);
  checkPresent('options', options);
  const linear = checkLinearHead(head);
  const tau = checkTau(options.tau);
  const bias = checkOneOf('bias', options.bias ?? 'drop', ['drop', 'keep'] as const);
  checkInput('features', features, [linear.inputDim]);
  const b = linear.bias;
  return tf.tidy(() => {
    const z = tf.matMul(features, tauNormalize(linear.kernel as tf.Tensor2D, { tau }));
    return (bias === 'keep' && b !== null ? tf.add(z, b) : z) as tf.Tensor2D;
  });
}

/** Options of {@link tauNormalizedHead}. */
export interface TauNormalizedHeadOptions {
  /** The linear head whose class vectors are normalised; the wrapper owns it (disposes it). */
  readonly head: LinearHead;
  /** The exponent τ (finite). */
  readonly tau: number;
  /** 'drop' (the official code: logits x·w̃_c, no bias) or 'keep' (x·w̃_c + b_c). @defaultValue 'drop' */
  readonly bias?: TauNormBias;
}

/** A linear head read through τ-normalised class vectors. */
export interface TauNormalizedHead extends Head {
  readonly kind: 'tauNormalized';
  readonly inner: LinearHead;
  readonly tau: number;
  readonly bias: TauNormBias;
}

class TauNormalizedHeadImpl extends WrapperHead<LinearHead> implements TauNormalizedHead {
  readonly kind = 'tauNormalized' as const;

  constructor(
    inner: LinearHead,
    readonly tau: number,
    readonly bias: TauNormBias,
  ) {
    super(inner, 'tau-normalized head');
  }

  get config(): JsonObject {
    return { tau: this.tau, bias: this.bias, head: { kind: this.inner.kind, config: this.inner.config } };
  }

  apply(features: tf.Tensor2D, mode: ForwardMode = 'eval'): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    return tauNormalizedLogits(features, this.inner, { tau: this.tau, bias: this.bias });
  }
}

const TAU_HEAD_KEYS: OptionKeys<TauNormalizedHeadOptions> = { head: true, tau: true, bias: true };

/**
 * The τ-normalised classifier of Kang et al. (ICLR 2020) as a head: for features x [N, D] and the linear
 * head's W [D, C] and b [C],
 *
 *   z_c = x·w̃_c (+ b_c with `bias: 'keep'`),   w̃_c = w_c / ‖w_c‖₂^τ ({@link tauNormalize}),
 *
 * computed from the live weights on every call (post-hoc: nothing is trained or overwritten). Its
 * variables are the linear head's, so gradients reach W through the normalisation. To bake the rule into
 * the weights instead, assign `tauNormalize(head.kernel, { tau })` to `head.kernel`.
 *
 * @throws LongTailError `INVALID_OPTION` (not a linear head, τ not finite, unknown bias rule),
 *   `UNKNOWN_OPTION`, before any tensor is made.
 * @example
 * ```ts
 * const balanced = tauNormalizedHead({ head: linearHead({ inputDim: 64, numClasses: 10, rng }), tau: 1 });
 * const logits = balanced.apply(features); // [N, 10], caller disposes
 * ```
 */
export function tauNormalizedHead(options: TauNormalizedHeadOptions): TauNormalizedHead {
  checkOptions('tauNormalizedHead options', options, TAU_HEAD_KEYS);
  checkPresent('options', options);
  const head = checkLinearHead(options.head);
  const tau = checkTau(options.tau);
  const bias = checkOneOf('bias', options.bias ?? 'drop', ['drop', 'keep'] as const);
  return new TauNormalizedHeadImpl(head, tau, bias);
}

/** Options of {@link lwsHead}. */
export interface LwsHeadOptions {
  /** The (trained) head whose logits are scaled; the wrapper owns it (disposes it). */
  readonly head: Head;
}

/** A head with learnable per-class logit scales; only the scales train. */
export interface LwsHead extends Head {
  readonly kind: 'lws';
  readonly inner: Head;
  /** f [C], ones at start; the only trainable variable. */
  readonly scale: tf.Variable;
}

class LwsHeadImpl extends WrapperHead implements LwsHead {
  readonly kind = 'lws' as const;
  readonly scale: tf.Variable;

  constructor(inner: Head) {
    super(inner, 'lws head');
    const c = inner.numClasses;
    this.scale = makeVariable<tf.Rank.R1>(new Float32Array(c).fill(1), [c], true);
  }

  override get trainableVariables(): readonly tf.Variable[] {
    return [this.scale];
  }
  /** The inner head's variables, then the scale. */
  override get variables(): readonly tf.Variable[] {
    return [...this.inner.variables, this.scale];
  }
  get config(): JsonObject {
    return { head: { kind: this.inner.kind, config: this.inner.config } };
  }

  apply(features: tf.Tensor2D, mode: ForwardMode = 'eval'): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    return tf.tidy(() => tf.mul(this.inner.apply(features, mode), this.scale) as tf.Tensor2D);
  }

  protected override disposeOwn(): void {
    this.scale.dispose();
  }
}

const LWS_KEYS: OptionKeys<LwsHeadOptions> = { head: true };

/**
 * Learnable weight scaling (LWS, Kang et al., ICLR 2020, §4; the official `LWS` classifier of
 * classifier-balancing): the trained head's logits z_c = w_c·x + b_c are rescaled per class,
 *
 *   z'_c = f_c · z_c,   f = 1 at start,
 *
 * and only f [C] is trainable (`trainableVariables` = [scale]), so retraining with class-balanced
 * sampling learns the class scales while W and b stay fixed. `variables` lists the inner head's, then f.
 *
 * @throws LongTailError `INVALID_OPTION` (not a head, or an auxiliary head), `UNKNOWN_OPTION`, before any
 *   tensor is made.
 * @example
 * ```ts
 * const lws = lwsHead({ head: trainedHead });
 * const stage2 = classifier({ backbone: frozenBackbone({ backbone }), head: lws });
 * // train stage2: only lws.scale moves
 * ```
 */
export function lwsHead(options: LwsHeadOptions): LwsHead {
  checkOptions('lwsHead options', options, LWS_KEYS);
  checkPresent('options', options);
  checkComponent('head', options.head, 'head');
  const head = options.head;
  if (head.numTrainClasses !== head.numClasses) {
    throw invalid('INVALID_OPTION', 'head to be a plain head (not auxiliary)', 'head.kind', head.kind);
  }
  return new LwsHeadImpl(head);
}
