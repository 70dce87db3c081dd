/**
 * The `decoupled` recipe (Kang et al., ICLR 2020, "Decoupling Representation and Classifier for
 * Long-Tailed Recognition"; official code facebookresearch/classifier-balancing): learn the
 * representation with instance sampling and cross-entropy, then rebalance the classifier alone by cRT,
 * τ-normalization or LWS; or calibrate the frozen classifier's logits by DisAlign (Zhang et al. 2021) or
 * MARC (Wang et al. 2022), trained with the generalised re-weighting (GRW) loss.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { seededRng, type RngState } from '../core/rng.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkAllFinite, checkClassCounts, checkNonNegative, checkOneOf } from '../core/validate.js';
import type { LabeledData } from '../data/types.js';
import { generalizedReweighting } from '../losses/reducers/generalizedReweighting.js';
import { crossEntropyLoss } from '../losses/classification.js';
import { balancedAccuracy } from '../metrics/classification.js';
import type { EvaluationReport } from '../metrics/report.js';
import { classifier, stateVariablesOf, type Classifier } from '../models/classifier.js';
import { frozenBackbone } from '../models/frozen.js';
import { linearHead, WrapperHead, type LinearHead } from '../models/heads.js';
import { makeVariable } from '../models/init.js';
import { lwsHead, tauNormalize, tauNormalizedLogits, type TauNormBias } from '../models/rebalanced-heads.js';
import type { Backbone, ForwardMode, Head, Model, Requirement } from '../models/types.js';
import type { Logs } from '../train/callbacks.js';
import type { OptimizerSpec } from '../train/optimizers.js';
import { trainer, type EvaluateOptions, type FitOptions, type History, type Trainer } from '../train/trainer.js';
import {
  buildBackbone,
  modelInputJson,
  checkRecipeData,
  fitStage,
  resolveModelInput,
  resolveRunSettings,
  resolveSeedAndClasses,
  resolveStage,
  stageJson,
  type ModelInput,
  type RunSettings,
  type SeedAndClasses,
  type StageOptions,
  STAGE_KEYS,
  STAGE_OPTION_KEYS,
  trainerSettings,
  type RecipeStage,
  type RecipeStageOptions,
  withRecipeManifest,
} from './common.js';
import { extractFeatures } from './features.js';
import type { RecipeRun } from './types.js';

/** The second-stage classifier method. */
export type DecoupledMethod = 'cRT' | 'tauNorm' | 'lws' | 'disalign' | 'marc';

/**
 * The generalised re-weighting (GRW) of DisAlign and MARC's second stage (Zhang et al. 2021): class
 * weights w_c ∝ (n_c / N)^(−ρ), normalized so Σ_c w_c = C, in a class-weighted mean of the
 * cross-entropy (PyTorch `F.cross_entropy(weight=w)`: Σ_i w_{y_i} ℓ_i / Σ_i w_{y_i}).
 */
export interface GrwOptions {
  /** ρ ≥ 0; 0 is plain cross-entropy. @defaultValue 1.2 (the official DisAlign ImageNet-LT and MARC configs) */
  readonly exponent?: number;
  /** Training count per class. @defaultValue the counts of the data given to `fit` */
  readonly classCounts?: ArrayLike<number>;
}

/**
 * Options of the second (classifier) stage, the stage part of {@link RecipeStageOptions}; cRT, LWS,
 * DisAlign and MARC train, τ-norm does not. Defaults: 10 epochs (Kang et al. retrain the classifier for
 * 10 epochs), the first stage's batch size and optimizer, `{ kind: 'cosine' }` (restarted), and
 * `{ kind: 'classBalanced' }` for cRT and LWS, `{ kind: 'instance' }` for DisAlign and MARC (their
 * official stage 2 samples instances and re-weights the loss instead).
 */
export type DecoupledStage2Options = RecipeStage;

/**
 * Options of {@link decoupled}. Only `seed`, `numClasses` and `inputDim` (or `backbone`) are required.
 * The stage options ({@link RecipeStageOptions}) are stage 1's (representation learning): 30 epochs,
 * batch 256, cosine decay to 0 over the stage, instance sampling (the paper's finding: instance sampling
 * learns the best representation), and the paper's optimizer: SGD, momentum 0.9, weight decay 5e-4,
 * learning rate 0.2 at batch 512 scaled linearly to 0.1 at batch 256, `{ kind: 'sgd', learningRate: 0.1,
 * momentum: 0.9, weightDecay: 5e-4 }`. τ-norm relies on the class-vector norms SGD produces (with Adam
 * they come out far more even, and τ-norm gains little). `checkpoint.path` gets one sub-directory per
 * stage: `<path>/stage-1`, `<path>/stage-2`.
 */
export interface DecoupledOptions extends RecipeStageOptions {
  /** One seed for the initial weights, the re-initialised head and every random choice of training. */
  readonly seed: number;
  readonly numClasses: number;
  /** @defaultValue 'cRT' */
  readonly method?: DecoupledMethod;
  /** Input width D of the default MLP (inputs [N, D]). Excludes `backbone`. */
  readonly inputDim?: number;
  /** Hidden widths of the default MLP. @defaultValue [256] */
  readonly hiddenSizes?: readonly number[];
  /** The feature extractor (e.g. `cnnBackbone`); the run owns it (disposes it). */
  readonly backbone?: Backbone;
  /** The classifier stage (cRT and LWS). */
  readonly stage2?: DecoupledStage2Options;
  /** τ-norm: a fixed τ (skips the search). */
  readonly tau?: number;
  /** τ-norm: the candidates searched on validation data by balanced accuracy. @defaultValue 0, 0.1, …, 2 */
  readonly tauGrid?: readonly number[];
  /** τ-norm: 'drop' (the official code: logits = f·w̃_j, no bias) or 'keep' b unchanged. @defaultValue 'drop' */
  readonly tauNormBias?: TauNormBias;
  /** DisAlign and MARC: the GRW loss of stage 2. @defaultValue `{ exponent: 1.2 }`, counts from the training data */
  readonly grw?: GrwOptions;
}

/**
 * The model of a decoupled run: two fixed compositions over the same variables. `classifier` is stage 1's
 * model (backbone + linear head, trained jointly); `rebalanced` is stage 2's: `frozenBackbone` (no
 * trainable variables, always eval mode) + the method's head: the linear head itself (cRT re-initialises
 * it, τ-norm overwrites it with `tauNormalize`), `lwsHead` (LWS) or the DisAlign / MARC calibration of
 * it. As a {@link Model} (forward, head, variables) this is `rebalanced`, the model the run deploys.
 */
export interface DecoupledModel extends Model {
  readonly kind: 'decoupled';
  /** Stage 1's model: the backbone + linear head. */
  readonly classifier: Classifier;
  /** Stage 2's model: the frozen backbone + the rebalanced head (trains only the head's variables). */
  readonly rebalanced: Classifier;
  readonly linearHead: LinearHead;
  /** LWS scale f [C] (ones until trained; `lwsHead`'s); null for the other methods. */
  readonly scale: tf.Variable | null;
  /** DisAlign's calibration (stage 2 only); null for the other methods. */
  readonly disalign: DisAlignVariables | null;
  /** MARC's calibration (stage 2 only); null for the other methods. */
  readonly marc: MarcVariables | null;
  /** Frees the backbone, the head and the stage-2 variables (idempotent). */
  dispose(): void;
}

/** One τ candidate of the search and its validation balanced accuracy. */
export interface TauCandidate {
  readonly tau: number;
  readonly balancedAccuracy: number;
}

/** A decoupled run: a {@link RecipeRun} with both stages' trainers and what stage 2 chose. */
export interface DecoupledRun extends RecipeRun {
  readonly kind: 'decoupled';
  readonly method: DecoupledMethod;
  readonly model: DecoupledModel;
  /** The representation stage's trainer. */
  readonly representationTrainer: Trainer;
  /** The classifier stage's trainer (cRT, LWS, DisAlign, MARC); null for τ-norm, which does not train. */
  readonly classifierTrainer: Trainer | null;
  /** Stages completed: 0 before fit, 1 after representation learning, 2 when done. */
  readonly completedStages: 0 | 1 | 2;
  /** τ-norm: the τ applied (null before stage 2 and for other methods). */
  readonly tau: number | null;
  /** τ-norm: every candidate of the search with its validation balanced accuracy (empty with a fixed τ). */
  readonly tauSearch: readonly TauCandidate[];
  /** LWS: the learned scales f_j (null for other methods). */
  scales(): Float32Array | null;
  /**
   * DisAlign: α, β [C] and the confidence layer's v [D] and c; MARC: ω, β [C]; as host copies (null for
   * the other methods).
   */
  calibration(): Readonly<Record<string, Float32Array>> | null;
  /** Eval-mode logits of inputs; the caller owns the result. */
  logits(x: tf.Tensor): tf.Tensor2D;
  /**
   * Stage 1 (representation), then stage 2 (classifier). τ-norm without a fixed `tau` needs
   * `options.validation` (balanced, held out) for its search; with it, the stage trainers also log
   * validation metrics per epoch. Calling again resumes where an aborted run stopped.
   */
  fit(train: LabeledData, options?: FitOptions): Promise<History>;
  /** Metrics of the current model (after `fit`: the rebalanced classifier) on `test`. */
  evaluate(test: LabeledData, options?: EvaluateOptions): EvaluationReport;
  /** Frees the model and both trainers (idempotent); never the caller's data. */
  dispose(): void;
}

interface Resolved extends SeedAndClasses, RunSettings {
  readonly method: DecoupledMethod;
  readonly input: ModelInput;
  readonly stage1: StageOptions;
  readonly stage2: StageOptions;
  readonly tau: number | null;
  readonly tauGrid: readonly number[];
  readonly tauNormBias: TauNormBias;
  readonly grwExponent: number;
  readonly grwCounts: Float64Array | null;
}

/** SGD as Kang et al. 2020 (momentum 0.9, weight decay 5e-4; lr 0.2 at batch 512, here 0.1 at batch 256). */
const KANG_OPTIMIZER: OptimizerSpec = { kind: 'sgd', learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 };

/** τ = 0, 0.1, …, 2 (the official notebook's np.linspace(0, 2, 21)). */
export const DEFAULT_TAU_GRID: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 10);

/** DisAlign's learnable calibration: per-class scale α and bias β, and the confidence layer g(x) = x·v + c. */
export interface DisAlignVariables {
  /** α [C] (`logit_scale`, ones at start). */
  readonly scale: tf.Variable;
  /** β [C] (`logit_bias`, zeros at start). */
  readonly bias: tf.Variable;
  /** v [D, 1] (`confidence_layer.weight`, 0.1 everywhere at start). */
  readonly confidenceKernel: tf.Variable;
  /** c [1] (`confidence_layer.bias`, U(±1/√D) at start as `nn.Linear`). */
  readonly confidenceBias: tf.Variable;
}

/** MARC's learnable margin calibration: per-class ω and β. */
export interface MarcVariables {
  /** ω [C] (`a`, ones at start). */
  readonly omega: tf.Variable;
  /** β [C] (`b`, zeros at start). */
  readonly beta: tf.Variable;
}

/** What {@link disalignCalibrate} reads: tensors or the variables of {@link DisAlignVariables}. */
export interface DisAlignParameters {
  readonly scale: tf.Tensor;
  readonly bias: tf.Tensor;
  readonly confidenceKernel: tf.Tensor;
  readonly confidenceBias: tf.Tensor;
}

/** What {@link marcCalibrate} reads. */
export interface MarcParameters {
  readonly omega: tf.Tensor;
  readonly beta: tf.Tensor;
}

function checkMatrix(name: string, t: tf.Tensor, rows: number | null, cols: number | null): void {
  const ok = t instanceof tf.Tensor && t.rank === 2 && (rows === null || t.shape[0] === rows) && (cols === null || t.shape[1] === cols);
  if (!ok) {
    const want = `[${rows ?? 'N'}, ${cols ?? 'C'}]`;
    throw new LongTailError('SHAPE_MISMATCH', `expected ${name} of shape ${want}. Received: ${name}.shape=[${(t as tf.Tensor | undefined)?.shape?.join(', ') ?? ''}]`, { name });
  }
}

function checkVector(name: string, t: tf.Tensor, size: number): void {
  if (!(t instanceof tf.Tensor) || t.size !== size) {
    throw new LongTailError('SHAPE_MISMATCH', `expected ${name} with ${size} entries. Received: ${name}.shape=[${(t as tf.Tensor | undefined)?.shape?.join(', ') ?? ''}]`, { name });
  }
}

/**
 * DisAlign's adaptive calibration (Zhang et al., CVPR 2021, "Distribution Alignment: A Unified Framework
 * for Long-tail Visual Recognition"), as the official `DisAlignLinear.forward` (Megvii-BaseDetection/
 * DisAlign, cvpods): with the frozen logits z [N, C] and features x [N, D],
 *
 *   σ_i = sigmoid(x_i·v + c),   z'_ic = (1 + σ_i·α_c)·z_ic + σ_i·β_c.
 *
 * (The paper writes z' = (1 − σ)·z + σ·(α ⊙ z + β); the code, reproduced here, adds σ·α·z to z instead.)
 * Inside `tf.tidy`; the caller owns the result; differentiable in every argument.
 *
 * @throws LongTailError `SHAPE_MISMATCH` before any tensor is made.
 * @example
 * ```ts
 * const calibrated = disalignCalibrate(logits, features, run.model.disalign!);
 * ```
 */
export function disalignCalibrate(logits: tf.Tensor2D, features: tf.Tensor2D, params: DisAlignParameters): tf.Tensor2D {
  checkMatrix('logits', logits, null, null);
  const [n, c] = logits.shape;
  checkMatrix('features', features, n, null);
  if (params === null || typeof params !== 'object') throw invalid('INVALID_OPTION', 'params to be { scale, bias, confidenceKernel, confidenceBias }', 'params', params);
  checkVector('params.scale', params.scale, c);
  checkVector('params.bias', params.bias, c);
  checkVector('params.confidenceKernel', params.confidenceKernel, features.shape[1]);
  checkVector('params.confidenceBias', params.confidenceBias, 1);
  return tf.tidy(() => {
    const v = tf.reshape(params.confidenceKernel, [features.shape[1], 1]);
    const confidence = tf.sigmoid(tf.add(tf.matMul(features, v), tf.reshape(params.confidenceBias, [1, 1])));
    const alpha = tf.reshape(params.scale, [1, c]);
    const beta = tf.reshape(params.bias, [1, c]);
    return tf.add(tf.mul(tf.add(1, tf.mul(confidence, alpha)), logits), tf.mul(confidence, beta)) as tf.Tensor2D;
  });
}

/**
 * MARC's margin calibration (Wang et al., ACML 2022, "Margin Calibration for Long-Tailed Visual
 * Recognition"), as the official `MARCLinear.forward` (microsoft/robustlearn `marc/models/MARCClassifier.py`):
 * with the frozen logits z = x·W + b [N, C] and the class vectors w_c (columns of `kernel` [D, C]),
 *
 *   z'_ic = ω_c·z_ic + β_c·‖w_c‖₂.
 *
 * The head's logits and norms carry no gradient in the official code (`torch.no_grad`); the recipe
 * trains ω and β only, so the kernel (and its norms) stay fixed. Inside `tf.tidy`; the caller owns the
 * result.
 *
 * @throws LongTailError `SHAPE_MISMATCH` before any tensor is made.
 * @example
 * ```ts
 * const calibrated = marcCalibrate(logits, head.kernel, run.model.marc!);
 * ```
 */
export function marcCalibrate(logits: tf.Tensor2D, kernel: tf.Tensor2D, params: MarcParameters): tf.Tensor2D {
  checkMatrix('logits', logits, null, null);
  const c = logits.shape[1];
  checkMatrix('kernel', kernel, null, c);
  if (params === null || typeof params !== 'object') throw invalid('INVALID_OPTION', 'params to be { omega, beta }', 'params', params);
  checkVector('params.omega', params.omega, c);
  checkVector('params.beta', params.beta, c);
  return tf.tidy(() => {
    const norms = tf.reshape(tf.norm(kernel, 'euclidean', 0), [1, c]);
    return tf.add(tf.mul(tf.reshape(params.omega, [1, c]), logits), tf.mul(tf.reshape(params.beta, [1, c]), norms)) as tf.Tensor2D;
  });
}


/**
 * Decoupled training as one call (Kang et al. 2020):
 * - stage 1 (representation): backbone + linear head trained jointly with cross-entropy and instance
 *   sampling for `epochs` epochs;
 * - stage 2 (classifier), the backbone frozen (its variables are not trained and it runs in eval mode, so
 *   batch-norm statistics stay fixed):
 *   - `cRT`: re-initialise the linear head and retrain it alone with class-balanced sampling;
 *   - `tauNorm`: w_j ← w_j / ‖w_j‖^τ, τ chosen on validation data (`fit(train, { validation })`) over
 *     `tauGrid` by balanced accuracy (ties: the smaller τ); the bias is dropped as in the official code
 *     (logits = f·w̃_j), or kept with `tauNormBias: 'keep'`; no training;
 *   - `lws`: learn a per-class scale f_j on the frozen head's logits, z_j = f_j·(w_j·f + b_j) (f
 *     initialised to 1), with class-balanced sampling;
 *   - `disalign` (Zhang et al., CVPR 2021): learn the adaptive calibration {@link disalignCalibrate}
 *     (per-class α, β and a confidence layer on the features) on the frozen head's logits, with instance
 *     sampling and the GRW loss (`grw`, ρ = 1.2);
 *   - `marc` (Wang et al., ACML 2022): learn the margin calibration {@link marcCalibrate}, z'_c = ω_c·z_c +
 *     β_c·‖w_c‖, with instance sampling and the GRW loss.
 *   DisAlign's and MARC's calibration applies from stage 2 on (stage 1 trains the plain head).
 *
 * Paper: B. Kang, S. Xie, M. Rohrbach, Z. Yan, A. Gordo, J. Feng, Y. Kalantidis, "Decoupling
 * Representation and Classifier for Long-Tailed Recognition", ICLR 2020.
 *
 * @throws LongTailError before any tensor is made: `INVALID_OPTION` (bad option), `MISSING_INPUT`
 *   (neither inputDim nor backbone; at `fit`, τ-norm without validation data or a fixed τ).
 * @example
 * ```ts
 * const run = decoupled({ seed: 0, numClasses: 10, inputDim: 784, method: 'tauNorm' });
 * await run.fit(train, { validation });   // τ searched on `validation`
 * const { tau } = run; // the τ the search chose
 * const balanced = run.evaluate(test).balancedAccuracy;
 * run.dispose();
 * ```
 */
export function decoupled(options: DecoupledOptions): DecoupledRun {
  const resolved = resolveOptions(options);
  return new DecoupledRunImpl(resolved, options.backbone);
}

const DECOUPLED_KEYS: OptionKeys<DecoupledOptions> = {
  ...STAGE_OPTION_KEYS,
  seed: true,
  numClasses: true,
  method: true,
  inputDim: true,
  hiddenSizes: true,
  backbone: true,
  stage2: true,
  tau: true,
  tauGrid: true,
  tauNormBias: true,
  grw: true,
};

const GRW_KEYS: OptionKeys<GrwOptions> = { exponent: true, classCounts: true };

/** The official GRW exponent ρ of DisAlign (ImageNet-LT config `GRW_SCALE=1.2`) and MARC (every config). */
const DEFAULT_GRW_EXPONENT = 1.2;

function resolveOptions(options: DecoupledOptions): Resolved {
  checkOptions('decoupled options', options, DECOUPLED_KEYS);
  const { seed, numClasses } = resolveSeedAndClasses(options);
  const method = checkOneOf('method', options.method ?? 'cRT', ['cRT', 'tauNorm', 'lws', 'disalign', 'marc'] as const);
  const calibrating = method === 'disalign' || method === 'marc';
  const input = resolveModelInput(options, [256]);
  const stage1 = resolveStage(options, { epochs: 30, batchSize: 256, optimizer: KANG_OPTIMIZER, learningRate: { kind: 'cosine' }, sampler: { kind: 'instance' } }, { where: 'decoupled options' });
  const s2 = options.stage2 ?? {};
  if (s2 === null || typeof s2 !== 'object') throw invalid('INVALID_OPTION', 'stage2 to be an options object', 'stage2', s2);
  checkOptions('decoupled options.stage2', s2, STAGE_KEYS);
  const stage2 = resolveStage(
    s2,
    { epochs: 10, batchSize: stage1.batchSize, optimizer: stage1.optimizer, learningRate: { kind: 'cosine' }, sampler: { kind: calibrating ? 'instance' : 'classBalanced' } },
    { prefix: 'stage2.', where: 'decoupled options.stage2' },
  );
  let tau: number | null = null;
  if (options.tau !== undefined) {
    if (typeof options.tau !== 'number' || !Number.isFinite(options.tau)) throw invalid('INVALID_OPTION', 'tau to be a finite number', 'tau', options.tau);
    tau = options.tau;
  }
  const tauGrid = options.tauGrid ?? DEFAULT_TAU_GRID;
  if (!Array.isArray(tauGrid) || tauGrid.length === 0) throw invalid('INVALID_OPTION', 'tauGrid to be a non-empty array of numbers', 'tauGrid', tauGrid);
  checkAllFinite('tauGrid', tauGrid);
  if (tau !== null && options.tauGrid !== undefined) throw invalid('INVALID_OPTION', 'either tau or tauGrid, not both', 'tauGrid', tauGrid);
  if (method !== 'tauNorm' && (tau !== null || options.tauGrid !== undefined || options.tauNormBias !== undefined)) {
    throw invalid('INVALID_OPTION', 'tau, tauGrid and tauNormBias only with method "tauNorm"', 'method', method);
  }
  const tauNormBias = checkOneOf('tauNormBias', options.tauNormBias ?? 'drop', ['drop', 'keep'] as const);
  if (!calibrating && options.grw !== undefined) throw invalid('INVALID_OPTION', 'grw only with method "disalign" or "marc"', 'method', method);
  const grw = options.grw ?? {};
  if (grw === null || typeof grw !== 'object') throw invalid('INVALID_OPTION', 'grw to be an options object', 'grw', grw);
  checkOptions('decoupled options.grw', grw, GRW_KEYS);
  const grwExponent = checkNonNegative('grw.exponent', grw.exponent ?? DEFAULT_GRW_EXPONENT);
  let grwCounts: Float64Array | null = null;
  if (grw.classCounts !== undefined) {
    grwCounts = checkClassCounts('grw.classCounts', grw.classCounts);
    if (grwCounts.length !== numClasses) {
      throw new LongTailError('SHAPE_MISMATCH', `expected grw.classCounts of length numClasses = ${numClasses}. Received: grw.classCounts.length=${grwCounts.length}`, { name: 'grw.classCounts' });
    }
  }
  return { seed, numClasses, method, input, stage1, stage2, tau, tauGrid: [...tauGrid], tauNormBias, grwExponent, grwCounts, ...resolveRunSettings(options, 'decoupled options') };
}

/**
 * DisAlign's or MARC's calibration as a head over the linear head (stage 2 only): logits =
 * calibrate(z, features) with z the linear head's logits; only the calibration variables train.
 */
class CalibratedHead extends WrapperHead<LinearHead> {
  constructor(
    readonly kind: 'disalign' | 'marc',
    inner: LinearHead,
    /** The calibration variables, in a fixed order (DisAlign: α, β, v, c; MARC: ω, β). */
    private readonly calibration: readonly tf.Variable[],
    private readonly calibrate: (z: tf.Tensor2D, features: tf.Tensor2D) => tf.Tensor2D,
  ) {
    super(inner, 'decoupled calibrated head');
  }

  /** The calibration variables only: the linear head stays fixed. */
  override get trainableVariables(): readonly tf.Variable[] {
    return this.calibration;
  }
  /** The linear head's variables, then the calibration's. */
  override get variables(): readonly tf.Variable[] {
    return [...this.inner.variables, ...this.calibration];
  }
  get config(): JsonObject {
    return { head: { kind: this.inner.kind, config: this.inner.config } };
  }

  apply(features: tf.Tensor2D, mode: ForwardMode = 'eval'): tf.Tensor2D {
    this.guard.check();
    return tf.tidy(() => this.calibrate(this.inner.apply(features, mode), features));
  }

  protected override disposeOwn(): void {
    for (const v of this.calibration) v.dispose();
  }
}

class DecoupledModelImpl implements DecoupledModel {
  readonly kind = 'decoupled' as const;
  readonly provides: readonly Requirement[] = ['logits', 'embeddings'];
  private readonly guard = new DisposeGuard('decoupled model');

  constructor(
    readonly classifier: Classifier,
    readonly rebalanced: Classifier,
    readonly linearHead: LinearHead,
    readonly scale: tf.Variable | null,
    readonly disalign: DisAlignVariables | null,
    readonly marc: MarcVariables | null,
  ) {}

  get numClasses(): number {
    return this.rebalanced.numClasses;
  }
  get featureDim(): number {
    return this.rebalanced.featureDim;
  }
  get trainableVariables(): readonly tf.Variable[] {
    return this.rebalanced.trainableVariables;
  }
  get variables(): readonly tf.Variable[] {
    return this.rebalanced.variables;
  }
  /** Stage 2's state: none from the frozen backbone or the fixed linear head (so no per-step snapshot). */
  get stateVariables(): readonly tf.Variable[] {
    return stateVariablesOf(this.rebalanced);
  }
  get config(): JsonObject {
    return { classifier: this.classifier.config, scale: this.scale !== null, calibration: this.disalign !== null ? 'disalign' : this.marc !== null ? 'marc' : null };
  }

  forward(x: tf.Tensor, mode: ForwardMode): { logits: tf.Tensor2D; embeddings: tf.Tensor2D } {
    this.guard.check();
    return this.rebalanced.forward(x, mode);
  }

  head(features: tf.Tensor2D, mode: ForwardMode = 'eval'): tf.Tensor2D {
    this.guard.check();
    return this.rebalanced.head(features, mode);
  }

  getRngState(): RngState | null {
    return this.rebalanced.getRngState();
  }

  setRngState(state: RngState): void {
    this.rebalanced.setRngState(state);
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    // Both compositions own the shared backbone and linear head; their disposal is idempotent.
    this.classifier.dispose();
    this.rebalanced.dispose();
  }
}

class DecoupledRunImpl implements DecoupledRun {
  readonly kind = 'decoupled' as const;
  readonly method: DecoupledMethod;
  readonly model: DecoupledModelImpl;
  readonly representationTrainer: Trainer;
  readonly classifierTrainer: Trainer | null;
  private readonly guard = new DisposeGuard('decoupled run');
  private stage2Begun = false;
  private stage2Done = false;
  private chosenTau: number | null = null;
  private search: TauCandidate[] = [];

  constructor(
    private readonly o: Resolved,
    backbone: Backbone | undefined,
  ) {
    this.method = o.method;
    const rng = seededRng(o.seed).fork('decoupled:model');
    const bb = buildBackbone(o.input, backbone, rng.fork('backbone'));
    const head = linearHead({ inputDim: bb.outputDim, numClasses: o.numClasses, rng: rng.fork('head') });
    const model = classifier({ backbone: bb, head });
    const c = o.numClasses;
    const ones = (): tf.Variable => makeVariable<tf.Rank.R1>(new Float32Array(c).fill(1), [c], true);
    const zeros = (): tf.Variable => makeVariable<tf.Rank.R1>(new Float32Array(c), [c], true);
    let disalign: DisAlignVariables | null = null;
    if (o.method === 'disalign') {
      const d = bb.outputDim;
      // nn.Linear(D, 1) with the weight set to 0.1 (`torch.nn.init.constant_`) and the default bias U(±1/√D).
      const bound = 1 / Math.sqrt(d);
      const biasRng = rng.fork('disalign-confidence');
      disalign = {
        scale: ones(),
        bias: zeros(),
        confidenceKernel: makeVariable<tf.Rank.R2>(new Float32Array(d).fill(0.1), [d, 1], true),
        confidenceBias: makeVariable<tf.Rank.R1>(Float32Array.of((2 * biasRng.next() - 1) * bound), [1], true),
      };
    }
    const marc: MarcVariables | null = o.method === 'marc' ? { omega: ones(), beta: zeros() } : null;
    // Stage 2's head: DisAlign and MARC calibrate the stage-1 classifier, whose calibration layers only
    // exist in stage 2 (as the official code); LWS scales it; cRT and τ-norm change its weights in place.
    let stage2Head: Head = head;
    let scale: tf.Variable | null = null;
    if (o.method === 'lws') {
      const lws = lwsHead({ head });
      scale = lws.scale;
      stage2Head = lws;
    } else if (disalign !== null) {
      const d = disalign;
      stage2Head = new CalibratedHead('disalign', head, [d.scale, d.bias, d.confidenceKernel, d.confidenceBias], (z, features) => disalignCalibrate(z, features, d));
    } else if (marc !== null) {
      stage2Head = new CalibratedHead('marc', head, [marc.omega, marc.beta], (z) => marcCalibrate(z, head.kernel as tf.Tensor2D, marc));
    }
    const rebalanced = classifier({ backbone: frozenBackbone({ backbone: bb }), head: stage2Head });
    this.model = new DecoupledModelImpl(model, rebalanced, head, scale, disalign, marc);
    const count = 2;
    const calibrating = o.method === 'disalign' || o.method === 'marc';
    this.representationTrainer = trainer({
      model,
      loss: crossEntropyLoss(),
      seed: o.seed,
      ...o.stage1,
      ...trainerSettings(o, { index: 1, count }),
    });
    if (o.method === 'tauNorm') {
      this.classifierTrainer = null;
    } else {
      this.classifierTrainer = trainer({
        model: this.model,
        loss: calibrating ? crossEntropyLoss({ reducer: generalizedReweighting({ rho: o.grwExponent, ...(o.grwCounts === null ? {} : { classCounts: o.grwCounts }) }) }) : crossEntropyLoss(),
        // A seed of its own, so stage 2's batches are not stage 1's stream replayed.
        seed: seededRng(o.seed).fork('decoupled:stage2').int(2 ** 31),
        ...o.stage2,
        ...trainerSettings(o, { index: 2, count }),
        // Stage 1's singleton rule: drop a last batch of one only when batch norm has statistics (stage 2
        // itself has no state, so 'auto' would never drop one).
        dropLast: stateVariablesOf(model).length > 0 ? 'singleton' : 'none',
      });
    }
  }

  get trainer(): Trainer {
    return this.stage2Begun && this.classifierTrainer !== null ? this.classifierTrainer : this.representationTrainer;
  }

  get completedStages(): 0 | 1 | 2 {
    if (this.stage2Done) return 2;
    return this.representationTrainer.epoch >= this.o.stage1.epochs ? 1 : 0;
  }

  get tau(): number | null {
    return this.chosenTau;
  }

  get tauSearch(): readonly TauCandidate[] {
    return this.search.map((c) => ({ ...c }));
  }

  get config(): JsonObject {
    const o = this.o;
    const external: string[] = [];
    const tauNorm = o.method === 'tauNorm';
    return {
      kind: 'decoupled',
      seed: o.seed,
      numClasses: o.numClasses,
      method: o.method,
      ...modelInputJson(o.input, o.input.inputDim === null ? this.model.classifier.backbone : null, external),
      ...stageJson(o.stage1),
      stage2: stageJson(o.stage2),
      ...(tauNorm ? { tauNormBias: o.tauNormBias, ...(o.tau === null ? { tauGrid: [...o.tauGrid] } : { tau: o.tau }) } : {}),
      ...(o.method === 'disalign' || o.method === 'marc' ? { grw: { exponent: o.grwExponent, ...(o.grwCounts === null ? {} : { classCounts: Array.from(o.grwCounts) }) } } : {}),
      evalBatchSize: o.evalBatchSize,
      external,
    };
  }


  scales(): Float32Array | null {
    this.guard.check();
    return this.model.scale === null ? null : Float32Array.from(this.model.scale.dataSync());
  }

  calibration(): Readonly<Record<string, Float32Array>> | null {
    this.guard.check();
    const d = this.model.disalign;
    const m = this.model.marc;
    const read = (v: tf.Variable): Float32Array => Float32Array.from(v.dataSync());
    if (d !== null) return { scale: read(d.scale), bias: read(d.bias), confidenceKernel: read(d.confidenceKernel), confidenceBias: read(d.confidenceBias) };
    if (m !== null) return { omega: read(m.omega), beta: read(m.beta) };
    return null;
  }

  async fit(train: LabeledData, options: FitOptions = {}): Promise<History> {
    this.guard.check();
    const inputShape = this.model.classifier.backbone.inputShape;
    checkRecipeData(train, 'train', this.o.numClasses, inputShape);
    if (options.validation !== undefined) checkRecipeData(options.validation, 'validation', this.o.numClasses, inputShape);
    if (this.o.method === 'tauNorm' && this.o.tau === null && options.validation === undefined && this.chosenTau === null) {
      throw new LongTailError('MISSING_INPUT', 'expected fit(train, { validation }) for the τ search (or a fixed tau option). Received: validation=undefined');
    }
    if (this.stage2Done) {
      throw new LongTailError('INVALID_OPTION', 'expected a run with epochs left to train. Received: both stages have run (build a new run to train again)');
    }
    const first = await fitStage(this.representationTrainer, train, options);
    const logs1 = first.epochs.map((l) => ({ ...l, stage: 1 }));
    if (first.stopReason !== 'completed') return withRecipeManifest({ ...first, epochs: logs1 }, this);
    this.beginStage2(options.validation);
    if (this.classifierTrainer === null) {
      this.stage2Done = true;
      return withRecipeManifest({ ...first, epochs: logs1 }, this);
    }
    const second = await fitStage(this.classifierTrainer, train, options);
    if (second.stopReason === 'completed') this.stage2Done = true;
    const logs2: Logs[] = second.epochs.map((l) => ({ ...l, stage: 2 }));
    return withRecipeManifest({ ...second, epochs: [...logs1, ...logs2] }, this);
  }

  /** Prepares the classifier stage (once): re-initialises (cRT) or τ-normalises the linear head. */
  private beginStage2(validation: LabeledData | undefined): void {
    if (this.stage2Begun) return;
    this.stage2Begun = true;
    const head = this.model.linearHead;
    if (this.o.method === 'cRT') {
      const fresh = linearHead({ inputDim: head.inputDim, numClasses: head.numClasses, rng: seededRng(this.o.seed).fork('decoupled:cRT-head'), bias: head.bias !== null });
      head.kernel.assign(fresh.kernel);
      if (head.bias !== null && fresh.bias !== null) head.bias.assign(fresh.bias);
      fresh.dispose();
    } else if (this.o.method === 'tauNorm') {
      if (this.o.tau !== null) this.chosenTau = this.o.tau;
      else {
        this.search = this.searchTau(validation as LabeledData);
        let best = this.search[0] as TauCandidate;
        for (const c of this.search) if (c.balancedAccuracy > best.balancedAccuracy) best = c;
        this.chosenTau = best.tau;
      }
      const tau = this.chosenTau;
      tf.tidy(() => head.kernel.assign(tauNormalize(head.kernel as tf.Tensor2D, { tau })));
      if (this.o.tauNormBias === 'drop' && head.bias !== null) tf.tidy(() => (head.bias as tf.Variable).assign(tf.zerosLike(head.bias as tf.Variable)));
    }
  }

  /** Validation balanced accuracy of argmax(f·W̃_τ (+ b)) for every τ of the grid. */
  private searchTau(validation: LabeledData): TauCandidate[] {
    const head = this.model.linearHead;
    const features = extractFeatures(this.model.classifier.backbone, validation.x, { batchSize: this.o.evalBatchSize });
    try {
      return this.o.tauGrid.map((tau) => {
        const predicted = tf.tidy(() => tf.argMax(tauNormalizedLogits(features, head, { tau, bias: this.o.tauNormBias }), 1));
        const predictions = predicted.dataSync();
        predicted.dispose();
        return { tau, balancedAccuracy: balancedAccuracy({ predictions, labels: validation.y, numClasses: this.o.numClasses }) };
      });
    } finally {
      features.dispose();
    }
  }

  evaluate(test: LabeledData, options: EvaluateOptions = {}): EvaluationReport {
    this.guard.check();
    checkRecipeData(test, 'test', this.o.numClasses, this.model.classifier.backbone.inputShape);
    return this.trainer.evaluate(test, options);
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    this.guard.check();
    return this.trainer.logits(x);
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.representationTrainer.dispose();
    this.classifierTrainer?.dispose();
    this.model.dispose();
  }
}
