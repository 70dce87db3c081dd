/**
 * Classifier heads: linear, cosine, and the auxiliary-class wrapper. Each is usable alone on features
 * (frozen, or synthesized in latent space) or inside {@link classifier}.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { Rng } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkPositive } from '../core/validate.js';
import { checkInput, checkMode, checkPresent, checkRng, checkSize } from './check.js';
import { stateVariablesOf } from './classifier.js';
import { checkInitializer, type Initializer } from './init.js';
import { Dense, l2Normalize } from './layers.js';
import type { ForwardMode, Head } from './types.js';

/** Options of {@link linearHead}. */
export interface LinearHeadOptions {
  /** Width of the input features D. */
  readonly inputDim: number;
  /** Number of classes C (rows of the head). */
  readonly numClasses: number;
  /** Stream the weights are drawn from. */
  readonly rng: Rng;
  /** Weight initialiser, default `'pytorch'` (U(±1/√D) weights and bias, as `nn.Linear`). */
  readonly init?: Initializer;
  /** Whether to add a bias, default true. */
  readonly bias?: boolean;
}

/** A linear head; `kernel` [D, C] and `bias` [C] are exposed for τ-normalization and weight inspection. */
export interface LinearHead extends Head {
  readonly kind: 'linear';
  /** Weights W [D, C]: column j is the classifier vector w_j of class j. */
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
}

abstract class HeadBase {
  protected readonly guard: DisposeGuard;
  abstract readonly variables: readonly tf.Variable[];

  constructor(what: string) {
    this.guard = new DisposeGuard(what);
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    for (const v of this.variables) v.dispose();
  }
}

/**
 * Base of the heads that wrap another head (auxiliary, τ-normalised, LWS, decoupled's calibration):
 * shape, variables and state come from `inner`, which the wrapper owns and frees. Subclasses override
 * what they change.
 */
export abstract class WrapperHead<H extends Head = Head> {
  protected readonly guard: DisposeGuard;

  constructor(
    readonly inner: H,
    what: string,
  ) {
    this.guard = new DisposeGuard(what);
  }

  /** The inner head's input width. */
  get inputDim(): number {
    return this.inner.inputDim;
  }
  /** The inner head's classes at inference. */
  get numClasses(): number {
    return this.inner.numClasses;
  }
  /** The inner head's classes in training. */
  get numTrainClasses(): number {
    return this.inner.numTrainClasses;
  }
  /** The inner head's trainable variables. */
  get trainableVariables(): readonly tf.Variable[] {
    return this.inner.trainableVariables;
  }
  /** The inner head's variables. */
  get variables(): readonly tf.Variable[] {
    return this.inner.variables;
  }
  /**
   * The inner head's state only: a wrapper's own variables (LWS's scale) are trainable, and a frozen inner
   * head's W and b are not state (a forward pass never changes them), so the trainer neither snapshots
   * them every step nor drops single-sample batches for them.
   */
  get stateVariables(): readonly tf.Variable[] {
    return stateVariablesOf(this.inner);
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.inner.dispose();
    this.disposeOwn();
  }

  /** Frees what the wrapper adds to the inner head (runs once, after it). */
  protected disposeOwn(): void {}
}

class LinearHeadImpl extends HeadBase implements LinearHead {
  readonly kind = 'linear' as const;
  readonly numTrainClasses: number;
  private readonly dense: Dense;
  private readonly init: Initializer;

  constructor(
    readonly inputDim: number,
    readonly numClasses: number,
    options: { readonly rng: Rng; readonly init: Initializer; readonly bias: boolean },
  ) {
    super('linear head');
    this.numTrainClasses = numClasses;
    this.init = options.init;
    this.dense = new Dense(inputDim, numClasses, { init: options.init, useBias: options.bias, rng: options.rng });
  }

  get kernel(): tf.Variable {
    return this.dense.kernel;
  }

  get bias(): tf.Variable | null {
    return this.dense.bias;
  }

  get trainableVariables(): tf.Variable[] {
    return this.dense.trainableVariables;
  }

  get variables(): tf.Variable[] {
    return this.dense.trainableVariables;
  }

  get config(): JsonObject {
    return { inputDim: this.inputDim, numClasses: this.numClasses, init: this.init, bias: this.dense.bias !== null };
  }

  apply(features: tf.Tensor2D, mode: ForwardMode = 'eval'): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    checkInput('features', features, [this.inputDim]);
    return tf.tidy(() => this.dense.apply(features));
  }
}

const LINEAR_KEYS: OptionKeys<LinearHeadOptions> = { inputDim: true, numClasses: true, rng: true, init: true, bias: true };

/**
 * Linear classifier head: logits = x·W + b, W ∈ ℝ^{D×C}.
 *
 * @throws `INVALID_OPTION` for non-integer or non-positive sizes, a missing `rng` or an unknown `init`.
 * @example
 * ```ts
 * const head = linearHead({ inputDim: 64, numClasses: 10, rng: seededRng(0) });
 * const logits = head.apply(features); // [N, 10], caller disposes
 * ```
 */
export function linearHead(options: LinearHeadOptions): LinearHead {
  checkOptions('linearHead options', options, LINEAR_KEYS);
  checkPresent('options', options);
  const inputDim = checkSize('inputDim', options.inputDim);
  const numClasses = checkSize('numClasses', options.numClasses);
  checkRng('rng', options.rng);
  const init = checkInitializer('init', options.init ?? 'pytorch');
  const bias = options.bias ?? true;
  if (typeof bias !== 'boolean') throw invalid('INVALID_OPTION', 'bias to be a boolean', 'bias', bias);
  return new LinearHeadImpl(inputDim, numClasses, { rng: options.rng, init, bias });
}

/** Options of {@link cosineHead}. */
export interface CosineHeadOptions {
  readonly inputDim: number;
  readonly numClasses: number;
  readonly rng: Rng;
  /**
   * Scale s multiplying the cosines, default 16 (Kang et al. 2020's cosine classifier). Use 1 with a loss
   * that scales itself (LDAM multiplies its logits by s = 30).
   */
  readonly scale?: number;
  /** Weight initialiser, default `'pytorch'`; only directions matter after normalization. */
  readonly init?: Exclude<Initializer, 'zeros'>;
}

/** A cosine head; `kernel` [D, C] holds the (unnormalized) class vectors. */
export interface CosineHead extends Head {
  readonly kind: 'cosine';
  readonly kernel: tf.Variable;
  readonly scale: number;
}

class CosineHeadImpl extends HeadBase implements CosineHead {
  readonly kind = 'cosine' as const;
  readonly numTrainClasses: number;
  private readonly dense: Dense;
  private readonly init: Initializer;

  constructor(
    readonly inputDim: number,
    readonly numClasses: number,
    readonly scale: number,
    options: { readonly rng: Rng; readonly init: Initializer },
  ) {
    super('cosine head');
    this.numTrainClasses = numClasses;
    this.init = options.init;
    this.dense = new Dense(inputDim, numClasses, { init: options.init, useBias: false, rng: options.rng });
  }

  get kernel(): tf.Variable {
    return this.dense.kernel;
  }

  get trainableVariables(): tf.Variable[] {
    return [this.dense.kernel];
  }

  get variables(): tf.Variable[] {
    return [this.dense.kernel];
  }

  get config(): JsonObject {
    return { inputDim: this.inputDim, numClasses: this.numClasses, scale: this.scale, init: this.init };
  }

  apply(features: tf.Tensor2D, mode: ForwardMode = 'eval'): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    checkInput('features', features, [this.inputDim]);
    return tf.tidy(() => {
      const x = l2Normalize(features, 1);
      const w = l2Normalize(this.dense.kernel as tf.Tensor2D, 0);
      return tf.mul(tf.matMul(x, w), this.scale);
    });
  }
}

const COSINE_KEYS: OptionKeys<CosineHeadOptions> = { inputDim: true, numClasses: true, rng: true, scale: true, init: true };

/**
 * Cosine classifier head (no bias): logits_ij = s · (x_i/‖x_i‖) · (w_j/‖w_j‖), so every logit lies in
 * [−s, s]. Norms use max(‖·‖, 1e-12) like PyTorch's `F.normalize`, so zero features give zero logits and
 * finite gradients. The normalized-linear classifier of LDAM (Cao et al. 2019, `NormedLinear`) and the
 * cosine classifier of decoupled training (Kang et al. 2020).
 *
 * @throws `INVALID_OPTION` for non-positive sizes or scale.
 * @example
 * ```ts
 * const head = cosineHead({ inputDim: 64, numClasses: 10, scale: 16, rng: seededRng(0) });
 * ```
 */
export function cosineHead(options: CosineHeadOptions): CosineHead {
  checkOptions('cosineHead options', options, COSINE_KEYS);
  checkPresent('options', options);
  const inputDim = checkSize('inputDim', options.inputDim);
  const numClasses = checkSize('numClasses', options.numClasses);
  const scale = checkPositive('scale', options.scale ?? 16);
  checkRng('rng', options.rng);
  const init = checkInitializer('init', options.init ?? 'pytorch');
  if (init === 'zeros') throw invalid('INVALID_OPTION', 'init other than "zeros" for a cosine head', 'init', init);
  return new CosineHeadImpl(inputDim, numClasses, scale, { rng: options.rng, init });
}

/** Options of {@link auxiliaryHead}. */
export interface AuxiliaryHeadOptions {
  /**
   * A plain head over target + auxiliary classes: rows [0, C) are the C target classes, rows
   * [C, C + A) the A auxiliary ones. The auxiliary head owns it (disposes it).
   */
  readonly head: Head;
  /** Number of auxiliary classes A (the last A rows of `head`). */
  readonly numAuxiliaryClasses: number;
}

/** A head trained over target + auxiliary classes that predicts target classes only. */
export interface AuxiliaryHead extends Head {
  readonly kind: 'auxiliary';
  /** The wrapped head over all C + A rows. */
  readonly inner: Head;
  readonly numAuxiliaryClasses: number;
}

class AuxiliaryHeadImpl extends WrapperHead implements AuxiliaryHead {
  readonly kind = 'auxiliary' as const;

  constructor(
    inner: Head,
    readonly numAuxiliaryClasses: number,
  ) {
    super(inner, 'auxiliary head');
  }

  /** C: the inner head's rows without the auxiliary ones. */
  override get numClasses(): number {
    return this.inner.numClasses - this.numAuxiliaryClasses;
  }
  /** C + A: every row of the inner head. */
  override get numTrainClasses(): number {
    return this.inner.numClasses;
  }

  get config(): JsonObject {
    return {
      numClasses: this.numClasses,
      numAuxiliaryClasses: this.numAuxiliaryClasses,
      head: { kind: this.inner.kind, config: this.inner.config },
    };
  }

  apply(features: tf.Tensor2D, mode: ForwardMode = 'eval'): tf.Tensor2D {
    this.guard.check();
    checkMode(mode);
    if (mode === 'train') return this.inner.apply(features, 'train');
    return tf.tidy(() => {
      const all = this.inner.apply(features, 'eval');
      return tf.slice(all, [0, 0], [all.shape[0], this.numClasses]);
    });
  }
}

const AUXILIARY_KEYS: OptionKeys<AuxiliaryHeadOptions> = { head: true, numAuxiliaryClasses: true };

/**
 * Auxiliary-class head (Granularity): in `'train'` mode it scores all C + A classes, so the loss can
 * train the auxiliary rows (e.g. with neighbor silencing); in `'eval'` mode (and prediction) it returns
 * the C target rows only, so predictions never fall on an auxiliary class. `numClasses` = C,
 * `numTrainClasses` = C + A.
 *
 * @throws `INVALID_OPTION` when A is not an integer in [1, rows of `head`) or `head` is itself auxiliary.
 * @example
 * ```ts
 * const head = auxiliaryHead({
 *   head: linearHead({ inputDim: 64, numClasses: 10 + 5, rng }),
 *   numAuxiliaryClasses: 5,
 * }); // head.numClasses === 10, head.numTrainClasses === 15
 * ```
 */
export function auxiliaryHead(options: AuxiliaryHeadOptions): AuxiliaryHead {
  checkOptions('auxiliaryHead options', options, AUXILIARY_KEYS);
  checkPresent('options', options);
  const inner = checkPresent('head', options.head);
  if (typeof inner.apply !== 'function' || typeof inner.numClasses !== 'number') {
    throw invalid('INVALID_OPTION', 'head to be a Head (linearHead, cosineHead, ...)', 'head', typeof inner);
  }
  if (inner.numTrainClasses !== inner.numClasses) {
    throw invalid('INVALID_OPTION', 'head to be a plain head (not already auxiliary)', 'head.kind', inner.kind);
  }
  const a = checkSize('numAuxiliaryClasses', options.numAuxiliaryClasses);
  if (a >= inner.numClasses) {
    throw invalid(
      'INVALID_OPTION',
      `numAuxiliaryClasses < head.numClasses = ${inner.numClasses} (at least one target class)`,
      'numAuxiliaryClasses',
      a,
    );
  }
  return new AuxiliaryHeadImpl(inner, a);
}
