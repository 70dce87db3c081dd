/** The trainer's public types (config, options, results, the `Trainer` interface) and their validation. */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import type { Rng } from '../core/rng.js';
import type { Disposable } from '../core/tensors.js';
import { checkClassCounts, checkInteger, checkLabels, checkOneOf, checkSameSize } from '../core/validate.js';
import type { LabeledData, ViewBatch, ViewTransform } from '../data/types.js';
import type { Loss, LossContext } from '../losses/types.js';
import type { EvaluationReport } from '../metrics/report.js';
import type { Model, Requirement } from '../models/types.js';
import type { SamplerSpec } from '../samplers/index.js';
import type { Sampler } from '../samplers/types.js';
import { checkTopUpPolicy, type TopUpPolicy } from '../synth/top-up.js';
import type { Synthesizer } from '../synth/types.js';
import { progressLogger, type Callback, type Logs, type ProgressMode, type ProgressOptions } from './callbacks.js';
import type { OptimizerSpec } from './optimizers.js';
import type { LrScheduleSpec, Schedule } from './schedules.js';
import type { RunManifest } from './manifest.js';
import type { TrainerState } from './state.js';

/**
 * Latent synthesis inside training: at `startEpoch` (and every `refreshEvery` epochs after, when > 0) the
 * trainer feeds real embeddings (the model's `embeddings` in eval mode, or the inputs themselves when
 * `source: 'inputs'`, for models trained on frozen features) to the synthesizer, draws a synthetic pool,
 * and from then on batches are drawn over real + synthetic samples. Synthetic samples skip the backbone:
 * they go through `model.head` only.
 */
export interface SynthesisConfig {
  readonly synthesizer: Synthesizer;
  /** Default 0. */
  readonly startEpoch?: number;
  /**
   * Regenerate the pool every k epochs; 0 (default) keeps the first pool. Each refresh calls the
   * synthesizer's `reset()` and observes the current features afresh.
   */
  readonly refreshEvery?: number;
  /** Default `{ kind: 'toMax' }`: each class topped up to the largest class count. */
  readonly topUp?: TopUpPolicy;
  /** What the synthesizer observes in latent space. Default 'embeddings'. */
  readonly source?: 'embeddings' | 'inputs';
  /**
   * Where the pool's samples live. `'latent'` (default): features of the head's width that skip the
   * backbone (through `model.head` only). `'input'`: samples of the inputs' shape (the synthesizer
   * observes the inputs flattened to [N, D]; its draws are reshaped back) that go through the backbone,
   * the `augment` transform and every view like real samples, flagged synthetic (`inputs.synthetic`, as
   * SAU's contrastive loss reads). A synthesizer that needs the head (`needs: ['head']`) works in latent
   * space only.
   */
  readonly space?: 'latent' | 'input';
}

/** One synthesis round as the history records it. */
export interface SynthesisRound {
  readonly epoch: number;
  readonly space: 'latent' | 'input';
  /** Samples asked of the synthesizer per class (the top-up request). */
  readonly requested: readonly number[];
  /** Samples it returned per class (acceptance tests, e.g. OT distribution matching's, may return fewer). */
  readonly accepted: readonly number[];
  /** The synthesizer's own per-class report of the round (`Synthesizer.lastReport`), when it keeps one. */
  readonly report?: readonly Readonly<Record<string, number>>[];
}

/** A view: a transform of the batch's inputs, or of an earlier view's inputs (`from`). */
export type ViewSpec = ViewTransform | { readonly transform: ViewTransform; readonly from?: string };

export type { ViewBatch, ViewTransform };

/** What a custom {@link Objective} receives for one step (all tensors are owned by the trainer). */
export interface ObjectiveInputs {
  readonly model: Model;
  /** Real inputs of the batch (after `augment`), or null when the batch holds only synthetic latents. */
  readonly x: tf.Tensor | null;
  /** Synthetic latent features of the batch (they skip the backbone), or null. */
  readonly synthetic: tf.Tensor2D | null;
  /** int32 labels: the real samples first, then the synthetic latents. */
  readonly labels: tf.Tensor1D;
  /** The same labels as a typed array. */
  readonly labelValues: Int32Array;
  /** Per real sample: 1 where `data.synthetic` flags it (e.g. generated images mixed into the data). */
  readonly syntheticFlags: Uint8Array;
  /** Soft targets returned by `augment`, if any. */
  readonly targets?: tf.Tensor2D;
  readonly ctx: LossContext;
  /** The step's random stream (MixUp λ, CutMix boxes, ...). */
  readonly rng: Rng;
}

/**
 * A custom training objective: named scalar terms, summed into the minimised loss and logged separately.
 * Called inside the step's gradient tape and `tf.tidy`. A last resort for steps that are more than one
 * loss on one forward pass; prefer a {@link Loss}.
 */
export type Objective = (inputs: ObjectiveInputs) => Readonly<Record<string, tf.Scalar>>;

/** Everything a run needs: `model`, `loss` (or `objective`), `seed`, `epochs` and `batchSize`. */
export type TrainerConfig<R extends Requirement = Requirement> = TrainerBaseConfig &
  ({ readonly loss: Loss<R>; readonly objective?: undefined } | { readonly objective: Objective; readonly loss?: undefined });

/**
 * What happens to a batch whose real part (the samples that go through the backbone) has one sample:
 * - `'auto'` (default): `'singleton'` when the model has non-trainable state (batch norm, whose training
 *   statistics are undefined for one sample), else `'none'`;
 * - `'singleton'`: that one real sample is left out of the step (synthetic samples of the batch still
 *   train; a batch left empty is skipped);
 * - `'none'`: every batch is used as drawn.
 */
export type DropLast = 'auto' | 'singleton' | 'none';

/** The options every trainer takes, whatever defines its loss. */
export interface TrainerBaseConfig {
  readonly model: Model;
  /** One seed controls sampling, synthesis and every other random choice of the run. */
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  /** Default `{ kind: 'instance' }`. */
  readonly sampler?: Sampler | SamplerSpec;
  /** Default `DEFAULT_OPTIMIZER`: Adam 1e-3 with L2 weight decay 5e-4, as every recipe but `decoupled`. */
  readonly optimizer?: OptimizerSpec;
  /** A spec (JSON) or any function of progress giving the learning rate. Default constant. */
  readonly learningRate?: LrScheduleSpec | Schedule;
  /** Variables to train; default `model.trainableVariables` (pass the head's to retrain a classifier only). */
  readonly trainable?: readonly tf.Variable[];
  readonly synthesis?: SynthesisConfig;
  /**
   * Named views of each batch for losses that read `inputs.views` (SAU's MixUp/CutMix and contrastive
   * views). Computed in the order given, each from the batch's inputs or from an earlier view (`from`),
   * all drawing from the step's random stream; only the views some loss reads (and the views they derive
   * from) are computed, and the model runs once per view read, for the outputs the loss asks for.
   */
  readonly views?: Readonly<Record<string, ViewSpec>>;
  /**
   * Optional per-batch transform of real inputs (augmentation, MixUp/CutMix). Runs inside the step's tidy;
   * may return soft `targets` [B, C] that are passed to the loss.
   */
  readonly augment?: (batch: { readonly x: tf.Tensor; readonly labels: Int32Array; readonly rng: Rng }) => {
    readonly x: tf.Tensor;
    readonly targets?: tf.Tensor2D;
  };
  readonly callbacks?: readonly Callback[];
  /**
   * Progress output on stderr (see {@link progressLogger}): `'auto'` (default) redraws one bar per epoch on
   * a TTY (step of steps, ETA, mean loss, validation metrics at the end) and writes one line per epoch
   * otherwise (`epoch 3/30 - 1.2s - loss 0.8123 - valBalancedAccuracy 0.7012`); `'bar'` and `'epoch'`
   * force one; `'none'` is silent. An options object sets a label, stream or clock.
   */
  readonly progress?: ProgressMode | ProgressOptions;
  /** Save a checkpoint to `path` every `every` epochs (default 1); the last good one is kept on failure. */
  readonly checkpoint?: { readonly path: string; readonly every?: number };
  /** Batch size for evaluation and embedding passes. Default 512. */
  readonly evalBatchSize?: number;
  /** Single-sample batches: see {@link DropLast}. Default `'auto'`. */
  readonly dropLast?: DropLast;
  /**
   * Training count per class for losses and reducers that read `ctx.classCounts`, when `step` runs
   * before (or without) `fit`; `fit` replaces them with its data's counts.
   */
  readonly classCounts?: ArrayLike<number>;
}

/** The result of one optimisation step. */
export interface StepResult {
  readonly loss: number;
  /** Each named loss term, reduced. */
  readonly terms: Logs;
  /** Each `count` term of the loss (not part of the loss value). */
  readonly counts: Logs;
}

/** What `fit` returns. */
export interface History {
  /** Logs per completed epoch (loss, terms, learning rate, validation metrics). */
  readonly epochs: readonly Logs[];
  readonly stopReason: 'completed' | 'aborted' | 'callback';
  readonly message?: string;
  /** Every synthesis round of the run so far: requested and accepted samples per class. */
  readonly synthesis?: readonly SynthesisRound[];
  /** What produced these numbers (versions, backend, seed, data fingerprint, full config); see `replayManifest`. */
  readonly manifest?: RunManifest;
}

/** Options of `fit`. */
export interface FitOptions {
  /** Evaluated after each epoch; its metrics are logged as `val*`. Checked when `fit` starts. */
  readonly validation?: LabeledData;
  /**
   * Hold out this fraction of `data` (in (0, 1)) as the validation set, stratified by class and seeded
   * by the run's seed (Keras' `validation_split`, but stratified and shuffled): every class with at least
   * two samples appears on both sides. The same fraction gives the same split on every call, so a resumed
   * run sees the same training rows. Not together with `validation`.
   */
  readonly validationSplit?: number;
  /**
   * Aborting stops before the next step (checked before every step); `fit` resolves with
   * `stopReason: 'aborted'` and the trainer keeps its position inside the epoch, so `fit` again (or
   * `save` → `load` → `fit`) continues exactly where it stopped.
   */
  readonly signal?: AbortSignal;
}

/** Options of `step`. */
export interface StepOptions {
  /** Soft targets [B, C] passed to the loss. */
  readonly targets?: tf.Tensor2D;
}

/** Options of `predict`/`logits`. */
export interface PredictOptions {
  readonly batchSize?: number;
  /**
   * Post-hoc transform of eval-mode logits before arg-max or softmax (e.g. post-hoc logit adjustment
   * z − τ·log π). Runs inside `tf.tidy`.
   */
  readonly adjustLogits?: (logits: tf.Tensor2D) => tf.Tensor2D;
}

/** Options of `evaluate`. */
export interface EvaluateOptions extends PredictOptions {
  /** Training counts for the many/medium/few groups; default the counts of the last `fit` data. */
  readonly trainCounts?: ArrayLike<number>;
}

/** A training run. */
export interface Trainer extends Disposable {
  readonly model: Model;
  /** The epoch `fit` continues with (after an abort, the interrupted epoch; after `load`, the saved one). */
  readonly epoch: number;
  /** Optimisation steps taken so far. */
  readonly globalStep: number;
  /** The number of epochs the run was configured with. */
  readonly epochs: number;
  /** Logs of every completed epoch so far (copies). */
  readonly history: readonly Logs[];
  /** True when every epoch has run (`fit` would throw). */
  readonly done: boolean;
  /**
   * Trains from where the trainer stands to `epochs`: a fresh trainer from epoch 0, an aborted one from
   * the next step of the interrupted epoch, a loaded one from the saved position. Calling it when every
   * epoch has run is an error (`INVALID_OPTION`): build a new trainer with more `epochs` to train further.
   * The caller keeps ownership of `data`.
   */
  fit(data: LabeledData, options?: FitOptions): Promise<History>;
  /**
   * One synchronous optimisation step on a given batch, for custom loops. `labels` are int32 [B] (an
   * `Int32Array`, an integer array, or an int32 tensor), checked exactly as `fit` checks them.
   */
  step(x: tf.Tensor, labels: tf.Tensor1D | Int32Array | readonly number[], options?: StepOptions): StepResult;
  /** Logits of `x` in eval mode, computed in batches; the caller owns the result. */
  logits(x: tf.Tensor, options?: PredictOptions): tf.Tensor2D;
  /** Arg-max class per sample (the first maximum on ties); `NON_FINITE` when a row of logits has a NaN (an arg-max would silently say class 0). */
  predict(x: tf.Tensor, options?: PredictOptions): Int32Array;
  /** Overall, balanced, per-class, many/medium/few accuracy and ECE on labelled data. */
  evaluate(data: LabeledData, options?: EvaluateOptions): EvaluationReport;
  /** Every synthesis round of the run so far (copies), oldest first. */
  readonly synthesis: readonly SynthesisRound[];
  /** Training class counts of the last `fit`, or null before. */
  readonly classCounts: Float64Array | null;
  /** Trainer state (weights, optimizer slots, epoch and position in it, synthetic pool) as plain data. */
  state(): TrainerState;
  /**
   * Restores a state from `state()`: everything is validated first (`INVALID_CHECKPOINT` names what does
   * not fit) and nothing is assigned unless all of it is valid. Training resumes bit-identically on the
   * same backend.
   */
  restore(state: TrainerState): void;
  /** The manifest of the last `fit` (also in its `History`), or null before any. */
  readonly manifest: RunManifest | null;
  /** Writes `state()` atomically to the directory `path` (Node), and the last run's manifest beside it. */
  save(path: string): Promise<void>;
  /** Reads and restores a checkpoint directory written by `save`. */
  load(path: string): Promise<void>;
}

const SYNTHESIS_KEYS: OptionKeys<SynthesisConfig> = { synthesizer: true, startEpoch: true, refreshEvery: true, topUp: true, source: true, space: true };
const CONFIG_KEYS: OptionKeys<TrainerBaseConfig & { loss: unknown; objective: unknown }> = {
  model: true,
  loss: true,
  objective: true,
  seed: true,
  epochs: true,
  batchSize: true,
  sampler: true,
  optimizer: true,
  learningRate: true,
  trainable: true,
  synthesis: true,
  views: true,
  augment: true,
  callbacks: true,
  progress: true,
  checkpoint: true,
  evalBatchSize: true,
  dropLast: true,
  classCounts: true,
};
/** Keys of {@link FitOptions}. */
export const FIT_KEYS: OptionKeys<FitOptions> = { validation: true, validationSplit: true, signal: true };
/** Keys of {@link StepOptions}. */
export const STEP_KEYS: OptionKeys<StepOptions> = { targets: true };
/** Keys of {@link PredictOptions}. */
export const PREDICT_KEYS: OptionKeys<PredictOptions> = { batchSize: true, adjustLogits: true };
/** Keys of {@link EvaluateOptions}. */
export const EVALUATE_KEYS: OptionKeys<EvaluateOptions> = { ...PREDICT_KEYS, trainCounts: true };

/** Classes the model trains over (auxiliary heads train over more classes than they predict). */
export function trainClasses(model: Model): number {
  return model.numTrainClasses ?? model.numClasses;
}

/** Checks a trainer config before anything is built. */
export function validateConfig(config: TrainerConfig): void {
  if (config === null || typeof config !== 'object') throw invalid('INVALID_OPTION', 'a trainer config object', 'config', config);
  checkOptions('trainer config', config, CONFIG_KEYS as OptionKeys<TrainerConfig>);
  if (config.model === undefined) throw new LongTailError('MISSING_INPUT', 'expected config.model. Received: model=undefined');
  const objective: unknown = config.objective;
  if ((config.loss === undefined) === (objective === undefined)) {
    throw new LongTailError('MISSING_INPUT', `expected exactly one of config.loss and config.objective. Received: ${config.loss === undefined ? 'neither' : 'both'}`);
  }
  if (objective !== undefined && typeof objective !== 'function') throw invalid('INVALID_OPTION', 'objective to be a function', 'objective', typeof objective);
  const loss = config.loss as unknown;
  if (loss !== undefined && (loss === null || typeof loss !== 'object' || typeof (loss as Loss).terms !== 'function' || !Array.isArray((loss as Loss).requires))) {
    throw invalid('INVALID_OPTION', 'loss to be a Loss object (e.g. crossEntropyLoss(), or lossRegistry.fromConfig({ kind, config }) for a name)', 'loss', typeof loss === 'object' ? loss : String(loss));
  }
  if (typeof config.learningRate === 'number') {
    throw invalid(
      'INVALID_OPTION',
      "learningRate to be a schedule spec ({ kind: 'constant' | 'step' | 'cosine', ... }) or a function of progress; the base rate goes in optimizer: { kind: 'adam', learningRate }",
      'learningRate',
      config.learningRate,
    );
  }
  checkCallbacks(config.callbacks);
  checkInteger('seed', config.seed, { min: Number.MIN_SAFE_INTEGER });
  checkInteger('epochs', config.epochs, { min: 1 });
  checkInteger('batchSize', config.batchSize, { min: 1 });
  if (config.evalBatchSize !== undefined) checkInteger('evalBatchSize', config.evalBatchSize, { min: 1 });
  if (config.progress !== undefined) progressLogger(config.progress); // validates the mode or options
  if (config.dropLast !== undefined) checkOneOf('dropLast', config.dropLast, ['auto', 'singleton', 'none']);
  if (config.classCounts !== undefined) {
    checkSameSize('classCounts.length = model training classes', trainClasses(config.model), 'classCounts.length', checkClassCounts('classCounts', config.classCounts).length);
  }
  if (config.augment !== undefined && typeof config.augment !== 'function') throw invalid('INVALID_OPTION', 'augment to be a function', 'augment', typeof config.augment);
  const provided = new Set<Requirement>(config.model.provides);
  const requires = config.loss?.requires ?? [];
  const missing = requires.filter((r) => !provided.has(r));
  if (missing.length > 0) {
    throw new LongTailError(
      'MISSING_INPUT',
      `expected model ${config.model.kind} to provide ${missing.join(', ')} (required by loss ${config.loss?.kind}). Received: provides=[${config.model.provides.join(', ')}]`,
      { missing: missing as string[] },
    );
  }
  checkViewConfig(config);
  const syn = config.synthesis;
  if (syn !== undefined) {
    checkOptions('trainer config.synthesis', syn, SYNTHESIS_KEYS);
    checkInteger('synthesis.startEpoch', syn.startEpoch ?? 0);
    checkInteger('synthesis.refreshEvery', syn.refreshEvery ?? 0);
    if (syn.source !== undefined) checkOneOf('synthesis.source', syn.source, ['embeddings', 'inputs']);
    const space = checkOneOf('synthesis.space', syn.space ?? 'latent', ['latent', 'input']);
    if (syn.synthesizer === null || typeof syn.synthesizer !== 'object') {
      throw invalid('INVALID_OPTION', 'synthesis.synthesizer to be a Synthesizer (e.g. new ClassGaussian({ numClasses }))', 'synthesis.synthesizer', syn.synthesizer);
    }
    const needs = syn.synthesizer.needs ?? [];
    if (space === 'input' && needs.includes('head')) {
      throw new LongTailError(
        'INVALID_OPTION',
        `expected a synthesizer that works without the model's head for input-space synthesis. Received: synthesizer ${syn.synthesizer.kind} needs=[${needs.join(', ')}] with synthesis.space="input" (use space "latent")`,
      );
    }
    if (space === 'input' && syn.source !== undefined) throw invalid('INVALID_OPTION', 'synthesis.source only with space "latent" (input-space synthesis observes the inputs)', 'synthesis.source', syn.source);
    checkTopUpPolicy(syn.topUp ?? { kind: 'toMax' });
    if ((syn.refreshEvery ?? 0) > 0 && typeof syn.synthesizer.reset !== 'function') {
      throw new LongTailError(
        'INVALID_OPTION',
        `expected a synthesizer with reset() when synthesis.refreshEvery > 0 (refreshes re-observe moving features). Received: synthesizer ${syn.synthesizer.kind} without reset()`,
      );
    }
    checkSameSize('synthesizer classes = model training classes', trainClasses(config.model), 'synthesizer.numClasses', syn.synthesizer.numClasses);
    if ((syn.space ?? 'latent') === 'latent' && requires.some((r) => r === 'projections')) {
      throw new LongTailError('INVALID_OPTION', `expected a loss without projections when synthesis is on (synthetic latents have none). Received: requires=[${requires.join(', ')}]`);
    }
  }
  if (config.checkpoint !== undefined) checkCheckpointConfig(config.checkpoint, 'trainer config.checkpoint');
}

/** `checkpoint` is `{ path, every? }`: a non-empty directory path, every ≥ 1 epochs; `where` names it for unknown keys. */
export function checkCheckpointConfig(checkpoint: { readonly path: string; readonly every?: number }, where: string): void {
  checkOptions(where, checkpoint, { path: true, every: true });
  if (typeof checkpoint.path !== 'string' || checkpoint.path.length === 0) throw invalid('INVALID_OPTION', 'checkpoint.path to be a directory path', 'checkpoint.path', checkpoint.path);
  checkInteger('checkpoint.every', checkpoint.every ?? 1, { min: 1 });
}

/**
 * Views are functions or `{ transform, from }` with `from` naming an earlier view; the views a loss reads
 * exist, and the model provides what the loss needs from each.
 */
function checkViewConfig(config: TrainerConfig): void {
  const views = config.views;
  const names: string[] = [];
  if (views !== undefined) {
    if (views === null || typeof views !== 'object' || Array.isArray(views)) throw invalid('INVALID_OPTION', 'views as { [name]: transform | { transform, from } }', 'views', views);
    for (const [name, spec] of Object.entries(views)) {
      if (typeof spec !== 'function') {
        if (spec === null || typeof spec !== 'object') throw invalid('INVALID_OPTION', `views.${name} to be a transform function or { transform, from }`, `views.${name}`, spec);
        checkOptions(`trainer config.views.${name}`, spec, VIEW_SPEC_KEYS);
        if (typeof spec.transform !== 'function') throw invalid('INVALID_OPTION', `views.${name}.transform to be a function`, `views.${name}.transform`, typeof spec.transform);
        if (spec.from !== undefined && !names.includes(spec.from)) {
          throw invalid('INVALID_OPTION', `views.${name}.from to name an earlier view (one of ${names.length === 0 ? 'none' : names.join(', ')})`, `views.${name}.from`, spec.from);
        }
      }
      names.push(name);
    }
  }
  const read = config.loss?.views ?? {};
  const provided = new Set<Requirement>(config.model.provides);
  for (const [name, needs] of Object.entries(read)) {
    if (!names.includes(name)) {
      throw new LongTailError('MISSING_INPUT', `expected config.views to define view "${name}" (read by loss ${config.loss?.kind}). Received: views=[${names.join(', ')}]`, { name: `views.${name}` });
    }
    const missing = needs.filter((r) => !provided.has(r));
    if (missing.length > 0) {
      throw new LongTailError('MISSING_INPUT', `expected model ${config.model.kind} to provide ${missing.join(', ')} (read from view ${name} by loss ${config.loss?.kind}). Received: provides=[${config.model.provides.join(', ')}]`, {
        missing: missing as string[],
      });
    }
  }
  if (Object.keys(read).length > 0 && config.augment !== undefined && (config.loss?.requires.length ?? 0) === 0) {
    throw new LongTailError('INVALID_OPTION', `expected augment only with a loss that reads the plain forward pass. Received: loss ${config.loss?.kind} reads views only (put the augmentation into a view)`);
  }
}

const VIEW_SPEC_KEYS: OptionKeys<{ transform: unknown; from?: unknown }> = { transform: true, from: true };

const CALLBACK_HOOKS = ['onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd'];

/**
 * Callbacks are an array of objects; a key that looks like a hook (`on…`) but is not one is a typo that
 * would never be called (`onEpochEnds`): `UNKNOWN_OPTION` naming the nearest hook. Other keys (a
 * callback's own state) are allowed.
 */
export function checkCallbacks(callbacks: unknown): void {
  if (callbacks === undefined) return;
  if (!Array.isArray(callbacks)) throw invalid('INVALID_OPTION', 'callbacks to be an array of callback objects ([earlyStopping(...)])', 'callbacks', typeof callbacks);
  callbacks.forEach((cb: unknown, i) => {
    if (cb === null || typeof cb !== 'object') {
      throw invalid('INVALID_OPTION', 'each callback to be an object with hooks such as onEpochEnd(epoch, logs) (not a function)', `callbacks[${i}]`, typeof cb);
    }
    for (const key of Object.keys(cb)) {
      if (/^on[A-Z]/.test(key) && !CALLBACK_HOOKS.includes(key)) {
        const allowed = Object.fromEntries(CALLBACK_HOOKS.map((h) => [h, true])) as OptionKeys<Record<string, unknown>>;
        checkOptions(`callbacks[${i}] hooks`, { [key]: true } as Record<string, unknown>, allowed);
      }
    }
  });
}

const DATA_KEYS: OptionKeys<LabeledData> = { x: true, y: true, synthetic: true, auxiliary: true };

/** Checks labelled data: a tensor `x`, integer labels in range, one per row. */
export function validateData(data: LabeledData, name: string, classes: number): void {
  if (data === null || typeof data !== 'object') throw invalid('INVALID_OPTION', `${name} as { x: Tensor, y: Int32Array }`, name, data);
  checkOptions(name, data, DATA_KEYS);
  if (!(data.x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', `${name}.x to be a tf.Tensor`, `${name}.x`, typeof data.x);
  if (!(data.y instanceof Int32Array)) {
    throw invalid('INVALID_OPTION', `${name}.y to be an Int32Array of labels (from a tensor: Int32Array.from(await y.data()))`, `${name}.y`, (data.y as unknown) instanceof tf.Tensor ? 'a tf.Tensor' : typeof data.y);
  }
  if (data.x.isDisposed) throw new LongTailError('DISPOSED', `expected a live tensor ${name}.x. Received: ${name}.x after dispose()`, { name: `${name}.x` });
  checkSameSize(`${name}.y length = ${name}.x.shape[0]`, data.x.shape[0] ?? 0, `${name}.y.length`, data.y?.length ?? -1);
  checkLabels(`${name}.y`, data.y, classes);
}

/** Per-sample shapes agree (validation rows must look like training rows). */
export function checkSampleShape(name: string, expected: readonly number[], received: readonly number[]): void {
  const a = expected.slice(1);
  const b = received.slice(1);
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new LongTailError('SHAPE_MISMATCH', `expected ${name}.x rows of shape [${a.join(', ')}] (the training rows). Received: ${name}.x.shape=[${received.join(', ')}]`, {
      name: `${name}.x`,
    });
  }
}
