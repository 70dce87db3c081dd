/**
 * The `ltls` recipe: long-tail learning in latent space (Sharma 2025, "Efficient Long-Tail Learning in
 * Latent Space"): class-conditional Gaussians over frozen features top every class up, and only a linear
 * head is trained, on real + synthetic features.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { seededRng } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkInteger, checkOneOf } from '../core/validate.js';
import type { LabeledData } from '../data/types.js';
import { crossEntropyLoss } from '../losses/classification.js';
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
  readonly stage: StageOptions;
}

/**
 * Long-tail learning in latent space as one call:
 * 1. features f(x) of a frozen encoder (given, or computed by the run with `encoder`);
 * 2. per class c, μ_c and Σ_c of the real features (streamed moments; Σ_c by the chosen estimator,
 *    Ledoit–Wolf shrinkage toward (tr S/d)·I by default, repaired to positive definite);
 * 3. each class topped up with x = μ_c + L_c·z, Σ_c = L_c·L_cᵀ, z ~ N(0, I) (default to n_max:
 *    n_max − n_c samples for class c);
 * 4. a linear head W·f + b trained with cross-entropy on real + synthetic features (the trainer's
 *    `synthesis` with `source: 'inputs'`: the pool is drawn once, before the first epoch).
 *
 * Paper: S. Sharma, "Efficient Long-Tail Learning in Latent Space" (2025).
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
  ...STAGE_OPTION_KEYS,
};
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
  const stage = resolveStage(options, protocolStage(), { where: 'ltls options' });
  return { seed, numClasses, featureDim, gaussian, topUp, bias, headInit, stage, ...resolveRunSettings(options, 'ltls options') };
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
      loss: crossEntropyLoss(),
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
      ...stageJson(o.stage),
      evalBatchSize: o.evalBatchSize,
      external: this.encoder === undefined ? [] : ['encoder'],
    };
  }


  get synthesized(): Int32Array | null {
    return this.drawn === null ? null : Int32Array.from(this.drawn);
  }

  /** Features of `data` (computed with the encoder) or `data` itself; `owned` says whether to dispose. */
  private features(data: LabeledData, name: string): { data: LabeledData; owned: boolean } {
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
    if (this.encoder === undefined) return this.trainer.logits(x);
    const f = extractFeatures(this.encoder, x, { batchSize: this.o.evalBatchSize });
    try {
      return this.trainer.logits(f);
    } finally {
      f.dispose();
    }
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.trainer.dispose();
    this.synthesizer.dispose();
    this.model.dispose();
  }
}
