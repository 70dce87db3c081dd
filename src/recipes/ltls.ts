/**
 * The `ltls` recipe: long-tail learning in latent space (Sharma 2025, "Efficient Long-Tail Learning in
 * Latent Space"): class-conditional Gaussians over frozen features top every class up, and only a linear
 * head is trained, on real + synthetic features.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, checkSpec, type OptionKeys, type SpecKeys } from '../core/options.js';
import { seededRng } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkFinite, checkInteger, checkOneOf } from '../core/validate.js';
import { tukeyPowerTransform } from '../data/preprocess.js';
import type { LabeledData } from '../data/types.js';
import { balancedSoftmaxLoss, crossEntropyLoss, logitAdjustedLoss } from '../losses/classification.js';
import { defineLoss } from '../losses/define.js';
import type { Loss } from '../losses/types.js';
import type { EvaluationReport } from '../metrics/report.js';
import { classifier, type Classifier } from '../models/classifier.js';
import { initFromClassMeans, initFromLinearProbe } from '../models/head-init.js';
import { linearHead, type LinearHead } from '../models/heads.js';
import { CLASS_GAUSSIAN_KEYS, ClassGaussian, resolveClassGaussianOptions, type ClassGaussianOptions } from '../synth/gaussian.js';
import { checkTopUpPolicy, topUpRequest, type TopUpPolicy } from '../synth/top-up.js';
import { trainer, type EvaluateOptions, type FitOptions, type History, type Trainer } from '../train/trainer.js';
import {
  checkRecipeData,
  protocolStage,
  resolveRunSettings,
  resolveSeedAndClasses,
  resolveStage,
  stageJson,
  type RunSettings,
  type SeedAndClasses,
  type StageOptions,
  STAGE_OPTION_KEYS,
  trainerSettings,
  type RecipeStageOptions,
  withRecipeManifest,
} from './common.js';
import { checkEncoder, encoderDim, extractFeatures, type FeatureEncoder } from './features.js';
import type { RecipeRun } from './types.js';

/** The class-Gaussian options of {@link ltls} (every {@link ClassGaussianOptions} field but `numClasses`). */
export type LtlsGaussianOptions = Omit<ClassGaussianOptions, 'numClasses'>;

/**
 * How {@link ltls} initialises its head: `'random'` (the seed's U(±1/√d) draw), `'classMeans'` (LIFT+'s
 * `class_mean`: the nearest-class-mean classifier of the real training features, see
 * `initFromClassMeans`) or `'linearProbe'` (LIFT+'s `linear_probing`: a class-balanced logistic
 * regression fitted on the real training features first, see `initFromLinearProbe`).
 */
export type LtlsHeadInit = 'random' | 'classMeans' | 'linearProbe';

/**
 * The loss the {@link ltls} head is trained with, over real + synthetic features: `'crossEntropy'`
 * (Sharma 2025), `'logitAdjusted'` (Menon et al., ICLR 2021: CE(z + τ·log π, y), see
 * `logitAdjustedLoss`) or `'balancedSoftmax'` (Ren et al., NeurIPS 2020: CE(z + log n, y), see
 * `balancedSoftmaxLoss`); the class counts n (π = n / Σn) are chosen by {@link LtlsHeadPrior}.
 */
export type LtlsHeadLoss = 'crossEntropy' | 'logitAdjusted' | 'balancedSoftmax';

/**
 * The class counts of a logit-adjusted or balanced-softmax {@link ltls} head: `'trained'`, the counts the
 * head is trained on, n_c + s_c with s_c the synthetic top-up of class c (what the definitions of both
 * losses imply: π is the training label distribution; with `topUp: { kind: 'toMax' }` it is uniform and
 * the adjustment is a constant shift, i.e. cross-entropy), or `'real'`, the real counts n_c (the prior of
 * the data before synthesis; a reasonable choice with a partial top-up, `ratio` or a low `toCount`).
 */
export type LtlsHeadPrior = 'trained' | 'real';

/**
 * A transform of every feature {@link ltls} sees (training, validation, test and `logits` inputs alike):
 * `'none'`, or Tukey's ladder of powers x^λ (log x at λ = 0) as Distribution Calibration applies it
 * before fitting class Gaussians (Yang et al., ICLR 2021, λ = 0.5; see {@link tukeyPowerTransform}).
 * Features must be non-negative (e.g. after a ReLU).
 */
export type LtlsFeatureTransform = { readonly kind: 'none' } | { readonly kind: 'tukey'; readonly lambda: number };

/**
 * Options of {@link ltls}. Only `seed`, `numClasses` and the feature width are required. The stage
 * options default to the protocol's: 30 epochs, batch 256, Adam 1e-3 with L2 5e-4, constant rate,
 * instance sampling over real + synthetic features.
 */
export interface LtlsOptions extends RecipeStageOptions {
  /** One seed for the head's initial weights, the synthetic draws and the batch order. */
  readonly seed: number;
  readonly numClasses: number;
  /** Width d of the features; optional when `encoder` declares it (a Model or Backbone). */
  readonly featureDim?: number;
  /**
   * The frozen encoder. Without it, `fit`/`evaluate` take features [N, d] (e.g. from
   * {@link extractFeatures}, or computed elsewhere); with it they take raw inputs and compute features in
   * eval mode first. The run never trains or disposes the encoder.
   */
  readonly encoder?: FeatureEncoder;
  /**
   * Class-conditional Gaussians: covariance estimator ('ledoitWolf' default; 'full', 'diagonal',
   * 'shrinkage', 'pooled', 'calibrated'), shrinkage, calibration and PSD-repair settings.
   * @defaultValue ClassGaussian's defaults (Ledoit–Wolf shrinkage, jitter repair)
   */
  readonly gaussian?: LtlsGaussianOptions;
  /** How many synthetic features each class gets. @defaultValue `{ kind: 'toMax' }` (every class to n_max) */
  readonly topUp?: TopUpPolicy;
  /** Whether the linear head has a bias. @defaultValue true */
  readonly bias?: boolean;
  /** Head initialisation, from the real training features at the first `fit`. @defaultValue 'random' */
  readonly headInit?: LtlsHeadInit;
  /** The head's loss over real + synthetic features. @defaultValue 'crossEntropy' */
  readonly headLoss?: LtlsHeadLoss;
  /** Class counts of a `'logitAdjusted'` or `'balancedSoftmax'` head (unused by cross-entropy). @defaultValue 'trained' */
  readonly headPrior?: LtlsHeadPrior;
  /** τ of a `'logitAdjusted'` head, finite (unused by the other losses). @defaultValue 1 */
  readonly headTau?: number;
  /** Transform of every feature before anything else (e.g. DC's `{ kind: 'tukey', lambda: 0.5 }`). @defaultValue `{ kind: 'none' }` */
  readonly featureTransform?: LtlsFeatureTransform;
}

/** An ltls run: a {@link RecipeRun} whose model is a linear head on features. */
export interface LtlsRun extends RecipeRun {
  readonly kind: 'ltls';
  /** The linear head on features (identity backbone): `forward(features)`. */
  readonly model: Classifier;
  /** The fitted class-conditional Gaussians (inspect `distribution(c)` after `fit`). */
  readonly synthesizer: ClassGaussian;
  /** Synthetic features drawn per class by the last `fit` (null before). */
  readonly synthesized: Int32Array | null;
  /** Logits of raw inputs (with `encoder`) or features; the caller owns the result. */
  logits(x: tf.Tensor): tf.Tensor2D;
  /**
   * Fits the class Gaussians on the real features of `train` (raw inputs with `encoder`, features
   * otherwise), draws the top-up pool once, then trains the head on real + synthetic features.
   */
  fit(train: LabeledData, options?: FitOptions): Promise<History>;
  /** Metrics of the head on `test` (raw inputs with `encoder`, features otherwise). */
  evaluate(test: LabeledData, options?: EvaluateOptions): EvaluationReport;
  /** Frees the head, the trainer and the synthesizer (idempotent); never the encoder or the caller's data. */
  dispose(): void;
}

interface Resolved extends SeedAndClasses, RunSettings {
  readonly featureDim: number;
  readonly gaussian: LtlsGaussianOptions;
  readonly topUp: TopUpPolicy;
  readonly bias: boolean;
  readonly headInit: LtlsHeadInit;
  readonly headLoss: LtlsHeadLoss;
  readonly headPrior: LtlsHeadPrior;
  readonly headTau: number;
  readonly featureTransform: LtlsFeatureTransform;
  readonly stage: StageOptions;
}

/**
 * Long-tail learning in latent space as one call:
 * 1. features f(x) of a frozen encoder (given, or computed by the run with `encoder`), optionally
 *    power-transformed, f ↦ f^λ (`featureTransform`, Distribution Calibration), for every set alike;
 * 2. per class c, μ_c and Σ_c of the real features (streamed moments; Σ_c by the chosen estimator,
 *    Ledoit–Wolf shrinkage toward (tr S/d)·I by default, repaired to positive definite);
 * 3. each class topped up with x = μ_c + L_c·z, Σ_c = L_c·L_cᵀ, z ~ N(0, I) (default to n_max:
 *    n_max − n_c samples for class c), or anchored on real samples, x = x_i + L_c·z
 *    (`gaussian: { center: 'samples' }`, GGEUR);
 * 4. a linear head W·f + b trained on real + synthetic features (the trainer's `synthesis` with
 *    `source: 'inputs'`: the pool is drawn once, before the first epoch) with cross-entropy, or with
 *    `headLoss` logit adjustment CE(z + τ·log π, y) / balanced softmax CE(z + log n, y), where n is
 *    n_c + s_c (real + synthetic, `headPrior: 'trained'`, default) or n_c (`'real'`) and π = n / Σn.
 *
 * Paper: S. Sharma, "Efficient Long-Tail Learning in Latent Space" (2025). Options from the closest
 * public implementations: GGEUR (Dai et al., CVPR 2025: anchored draws, eigenvalue-clip repair, top-up
 * to a fixed count with `topUp: { kind: 'toCount', count }`), Distribution Calibration (Yang et al.,
 * ICLR 2021: `covariance: 'calibrated'`, Tukey's power transform).
 *
 * @throws LongTailError before any tensor is made: `INVALID_OPTION` (bad option), `MISSING_INPUT` (no
 *   feature width), `SHAPE_MISMATCH` (featureDim ≠ the encoder's width).
 * @example
 * ```ts
 * const features = extractFeatures(frozenModel, train.x);              // [N, d]
 * const run = ltls({ seed: 0, numClasses: 10, featureDim: features.shape[1] });
 * await run.fit({ x: features, y: train.y });
 * const report = run.evaluate({ x: extractFeatures(frozenModel, test.x), y: test.y });
 * run.dispose();
 * ```
 */
export function ltls(options: LtlsOptions): LtlsRun {
  const resolved = resolveOptions(options);
  return new LtlsRunImpl(resolved, options.encoder);
}

const LTLS_KEYS: OptionKeys<LtlsOptions> = {
  seed: true,
  numClasses: true,
  featureDim: true,
  encoder: true,
  gaussian: true,
  topUp: true,
  bias: true,
  headInit: true,
  headLoss: true,
  headPrior: true,
  headTau: true,
  featureTransform: true,
  ...STAGE_OPTION_KEYS,
};
const FEATURE_TRANSFORM_KEYS: SpecKeys<LtlsFeatureTransform> = { none: { kind: true }, tukey: { kind: true, lambda: true } };

function checkFeatureTransform(spec: LtlsFeatureTransform): LtlsFeatureTransform {
  checkSpec('ltls options.featureTransform', spec, FEATURE_TRANSFORM_KEYS);
  const kind = checkOneOf('featureTransform.kind', (spec as { kind?: unknown } | null)?.kind as LtlsFeatureTransform['kind'], ['none', 'tukey'] as const);
  if (kind === 'none') return { kind };
  return { kind, lambda: checkFinite('featureTransform.lambda', (spec as { lambda: number }).lambda) };
}
const { numClasses: _numClasses, ...GAUSSIAN_KEYS } = CLASS_GAUSSIAN_KEYS;
const LTLS_GAUSSIAN_KEYS: OptionKeys<LtlsGaussianOptions> = GAUSSIAN_KEYS;

function resolveOptions(options: LtlsOptions): Resolved {
  checkOptions('ltls options', options, LTLS_KEYS);
  const { seed, numClasses } = resolveSeedAndClasses(options);
  if (options.encoder !== undefined) checkEncoder('encoder', options.encoder);
  const declared = options.encoder === undefined ? null : encoderDim(options.encoder);
  if (options.featureDim === undefined && declared === null) {
    throw new LongTailError('MISSING_INPUT', 'expected featureDim (or an encoder that declares its width). Received: featureDim=undefined');
  }
  const featureDim = checkInteger('featureDim', options.featureDim ?? (declared as number), { min: 1 });
  if (declared !== null && declared !== featureDim) {
    throw new LongTailError('SHAPE_MISMATCH', `expected featureDim = encoder width = ${declared}. Received: featureDim=${featureDim}`, { expected: declared, received: featureDim });
  }
  const gaussian = options.gaussian ?? {};
  if (gaussian === null || typeof gaussian !== 'object') throw invalid('INVALID_OPTION', 'gaussian to be a ClassGaussian options object', 'gaussian', gaussian);
  checkOptions('ltls options.gaussian', gaussian, LTLS_GAUSSIAN_KEYS);
  resolveClassGaussianOptions({ ...gaussian, numClasses });
  const topUp = checkTopUpPolicy(options.topUp ?? { kind: 'toMax' }, 'ltls options.topUp');
  const bias = options.bias ?? true;
  if (typeof bias !== 'boolean') throw invalid('INVALID_OPTION', 'bias to be a boolean', 'bias', bias);
  const headInit = checkOneOf('headInit', options.headInit ?? 'random', ['random', 'classMeans', 'linearProbe'] as const);
  const headLoss = checkOneOf('headLoss', options.headLoss ?? 'crossEntropy', ['crossEntropy', 'logitAdjusted', 'balancedSoftmax'] as const);
  const headPrior = checkOneOf('headPrior', options.headPrior ?? 'trained', ['trained', 'real'] as const);
  const headTau = checkFinite('headTau', options.headTau ?? 1);
  const featureTransform = checkFeatureTransform(options.featureTransform ?? { kind: 'none' });
  const stage = resolveStage(options, protocolStage(), { where: 'ltls options' });
  return { seed, numClasses, featureDim, gaussian, topUp, bias, headInit, headLoss, headPrior, headTau, featureTransform, stage, ...resolveRunSettings(options, 'ltls options') };
}

/**
 * The loss of the ltls head: cross-entropy, or the library's logit-adjusted / balanced-softmax loss
 * reading the real counts from the trainer (`ctx.classCounts`, `headPrior: 'real'`) or those counts plus
 * the top-up request of `topUp` (`'trained'`: the counts of real + synthetic features the head sees).
 */
export function ltlsHeadLoss(options: { readonly headLoss: LtlsHeadLoss; readonly headPrior: LtlsHeadPrior; readonly headTau: number; readonly topUp: TopUpPolicy }): Loss<'logits'> {
  if (options.headLoss === 'crossEntropy') return crossEntropyLoss();
  const inner = options.headLoss === 'logitAdjusted' ? logitAdjustedLoss({ tau: options.headTau }) : balancedSoftmaxLoss();
  if (options.headPrior === 'real') return inner;
  const topUp = options.topUp;
  let real: ArrayLike<number> | undefined;
  let trained: Float64Array | undefined;
  const { reducer: _reducer, ...config } = inner.config;
  return defineLoss({
    kind: inner.kind,
    config: { ...config, prior: 'trained', topUp: topUp as unknown as JsonObject },
    requires: ['logits'],
    terms: (inputs) => {
      const counts = inputs.ctx?.classCounts;
      if (counts === undefined) return inner.terms(inputs);
      if (counts !== real) {
        const extra = topUpRequest(counts, topUp);
        trained = Float64Array.from(counts, (n, c) => n + (extra[c] as number));
        real = counts;
      }
      return inner.terms({ ...inputs, ctx: { ...inputs.ctx, classCounts: trained as Float64Array } });
    },
  });
}

class LtlsRunImpl implements LtlsRun {
  readonly kind = 'ltls' as const;
  readonly model: Classifier;
  readonly trainer: Trainer;
  readonly synthesizer: ClassGaussian;
  private readonly guard = new DisposeGuard('ltls run');
  private drawn: Int32Array | null = null;
  private readonly head: LinearHead;

  constructor(
    private readonly o: Resolved,
    private readonly encoder: FeatureEncoder | undefined,
  ) {
    const head: LinearHead = (this.head = linearHead({ inputDim: o.featureDim, numClasses: o.numClasses, rng: seededRng(o.seed).fork('ltls:head'), bias: o.bias }));
    this.model = classifier({ head });
    this.synthesizer = new ClassGaussian({ ...o.gaussian, numClasses: o.numClasses });
    this.trainer = trainer({
      model: this.model,
      loss: ltlsHeadLoss(o),
      seed: o.seed,
      ...o.stage,
      synthesis: { synthesizer: this.synthesizer, source: 'inputs', startEpoch: 0, refreshEvery: 0, topUp: o.topUp },
      ...trainerSettings(o, { index: 1, count: 1 }),
    });
  }

  get config(): JsonObject {
    const o = this.o;
    const { numClasses: _n, ...gaussian } = this.synthesizer.config;
    return {
      kind: 'ltls',
      seed: o.seed,
      numClasses: o.numClasses,
      featureDim: o.featureDim,
      gaussian,
      topUp: o.topUp as unknown as JsonObject,
      bias: o.bias,
      headInit: o.headInit,
      headLoss: o.headLoss,
      headPrior: o.headPrior,
      headTau: o.headTau,
      featureTransform: o.featureTransform as unknown as JsonObject,
      ...stageJson(o.stage),
      evalBatchSize: o.evalBatchSize,
      external: this.encoder === undefined ? [] : ['encoder'],
    };
  }


  get synthesized(): Int32Array | null {
    return this.drawn === null ? null : Int32Array.from(this.drawn);
  }

  /**
   * Features of `data` (computed with the encoder) or `data` itself, after `featureTransform`; `owned`
   * says whether to dispose.
   */
  private features(data: LabeledData, name: string): { data: LabeledData; owned: boolean } {
    const raw = this.rawFeatures(data, name);
    if (this.o.featureTransform.kind === 'none') return raw;
    try {
      const x = this.transformed(raw.data.x);
      return { data: { ...raw.data, x }, owned: true };
    } finally {
      if (raw.owned) raw.data.x.dispose();
    }
  }

  /** `featureTransform` of a feature tensor, as a new tensor (the input is not disposed). */
  private transformed(x: tf.Tensor): tf.Tensor {
    const t = this.o.featureTransform;
    if (t.kind === 'none') return x.clone();
    return tf.tensor(tukeyPowerTransform(x.dataSync(), { lambda: t.lambda }), x.shape, 'float32');
  }

  private rawFeatures(data: LabeledData, name: string): { data: LabeledData; owned: boolean } {
    if (this.encoder === undefined) {
      checkRecipeData(data, name, this.o.numClasses, [this.o.featureDim]);
      return { data, owned: false };
    }
    checkRecipeData(data, name, this.o.numClasses, null);
    const x = extractFeatures(this.encoder, data.x, { batchSize: this.o.evalBatchSize });
    if (x.shape[1] !== this.o.featureDim) {
      const width = x.shape[1];
      x.dispose();
      throw new LongTailError('SHAPE_MISMATCH', `expected encoder features of width ${this.o.featureDim}. Received: width=${width}`, { expected: this.o.featureDim, received: width });
    }
    return { data: { ...data, x }, owned: true };
  }

  async fit(train: LabeledData, options: FitOptions = {}): Promise<History> {
    this.guard.check();
    const t = this.features(train, 'train');
    let v: { data: LabeledData; owned: boolean } | null = null;
    try {
      v = options.validation === undefined ? null : this.features(options.validation, 'validation');
      // Initialise once, before the first epoch (a resumed run keeps its trained head).
      if (this.trainer.epoch === 0 && this.trainer.globalStep === 0) {
        if (this.o.headInit === 'classMeans') initFromClassMeans(this.head, t.data);
        else if (this.o.headInit === 'linearProbe') initFromLinearProbe(this.head, t.data);
      }
      const history = await this.trainer.fit(t.data, { ...options, ...(v === null ? {} : { validation: v.data }) });
      this.drawn = topUpRequest(this.synthesizer.observedCounts(), this.o.topUp);
      return withRecipeManifest(history, this);
    } finally {
      if (t.owned) t.data.x.dispose();
      if (v?.owned === true) v.data.x.dispose();
    }
  }

  evaluate(test: LabeledData, options: EvaluateOptions = {}): EvaluationReport {
    this.guard.check();
    const t = this.features(test, 'test');
    try {
      return this.trainer.evaluate(t.data, options);
    } finally {
      if (t.owned) t.data.x.dispose();
    }
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    this.guard.check();
    const live = x instanceof tf.Tensor && !x.isDisposed;
    if (!live || (this.encoder === undefined && this.o.featureTransform.kind === 'none')) return this.trainer.logits(x);
    const raw = this.encoder === undefined ? x : extractFeatures(this.encoder, x, { batchSize: this.o.evalBatchSize });
    let f: tf.Tensor | null = null;
    try {
      f = this.o.featureTransform.kind === 'none' ? raw : this.transformed(raw);
      return this.trainer.logits(f);
    } finally {
      if (raw !== x) raw.dispose();
      if (f !== null && f !== raw) f.dispose();
    }
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.trainer.dispose();
    this.synthesizer.dispose();
    this.model.dispose();
  }
}
