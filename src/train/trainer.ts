/**
 * The Trainer: one typed training loop for every long-tail method. Models declare what they provide,
 * losses what they require; the trainer composes model, loss, sampler, optimizer, schedules, synthesis
 * and callbacks, and owns nothing but its optimizer slots and synthetic pool.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import { createRng, type Rng } from '../core/rng.js';
import { DisposeGuard, type Disposable } from '../core/tensors.js';
import { checkInteger, checkLabels, checkSameSize } from '../core/validate.js';
import type { LabeledData } from '../data/types.js';
import type { Loss, LossContext, LossInputs, LossTerm } from '../losses/types.js';
import type { ForwardOutput, Model, Requirement } from '../models/types.js';
import { ClassStats } from '../data/class-stats.js';
import { ClassificationMetrics, type EvaluationReport } from '../metrics/report.js';
import { createSampler, type SamplerSpec } from '../samplers/index.js';
import type { Sampler } from '../samplers/types.js';
import { topUpRequest, type TopUpPolicy } from '../synth/top-up.js';
import type { Synthesizer } from '../synth/types.js';
import { progressLogger, type Callback, type Logs, type ProgressMode, type ProgressOptions, type TrainingControl } from './callbacks.js';
import { createOptimizer, type Optimizer, type OptimizerSpec } from './optimizers.js';
import { lrSchedule, type LrScheduleSpec, type Progress, type Schedule } from './schedules.js';
import { readCheckpoint, writeCheckpoint, type TrainerState } from './checkpoint.js';

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
  /** What the synthesizer observes. Default 'embeddings'. */
  readonly source?: 'embeddings' | 'inputs';
}

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
 * Called inside the step's gradient tape and `tf.tidy`; use it for methods whose step is more than one
 * loss on one forward pass (SAU's mixed and contrastive branches).
 */
export type Objective = (inputs: ObjectiveInputs) => Readonly<Record<string, tf.Scalar>>;

/** Everything a run needs: `model`, `loss` (or `objective`), `seed`, `epochs` and `batchSize`. */
export type TrainerConfig<R extends Requirement = Requirement> = TrainerBaseConfig &
  ({ readonly loss: Loss<R>; readonly objective?: undefined } | { readonly objective: Objective; readonly loss?: undefined });

/** The options every trainer takes, whatever defines its loss. */
export interface TrainerBaseConfig {
  readonly model: Model;
  /** One seed controls sampling, synthesis and every other random choice of the run. */
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  /** Default `{ kind: 'instance' }`. */
  readonly sampler?: Sampler | SamplerSpec;
  /** Default `{ kind: 'adam', learningRate: 1e-3 }`. */
  readonly optimizer?: OptimizerSpec;
  /** A spec (JSON) or any function of progress giving the learning rate. Default constant. */
  readonly learningRate?: LrScheduleSpec | Schedule;
  /** Variables to train; default `model.trainableVariables` (pass the head's to retrain a classifier only). */
  readonly trainable?: readonly tf.Variable[];
  readonly synthesis?: SynthesisConfig;
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
}

/** The result of one optimisation step. */
export interface StepResult {
  readonly loss: number;
  /** Each named loss term, reduced. */
  readonly terms: Logs;
}

/** What `fit` returns. */
export interface History {
  /** Logs per completed epoch (loss, terms, learning rate, validation metrics). */
  readonly epochs: readonly Logs[];
  readonly stopReason: 'completed' | 'aborted' | 'callback';
  readonly message?: string;
}

/** Options of `fit`. */
export interface FitOptions {
  /** Evaluated after each epoch; its metrics are logged as `val*`. */
  readonly validation?: LabeledData;
  /** Aborting stops cleanly after the current step; `fit` resolves with `stopReason: 'aborted'`. */
  readonly signal?: AbortSignal;
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
  /** The epoch `fit` starts from (after `load`, the saved epoch). */
  readonly epoch: number;
  /** Trains from the current epoch to `epochs` (resumes after `load`/`restore`); the caller keeps ownership of `data`. */
  fit(data: LabeledData, options?: FitOptions): Promise<History>;
  /** One synchronous step on a given batch, for custom loops. `labels` int32 [B]. */
  step(x: tf.Tensor, labels: tf.Tensor1D | Int32Array, options?: { readonly targets?: tf.Tensor2D }): StepResult;
  /** Logits of `x` in eval mode, computed in batches; the caller owns the result. */
  logits(x: tf.Tensor, options?: PredictOptions): tf.Tensor2D;
  /** Arg-max class per sample. */
  predict(x: tf.Tensor, options?: PredictOptions): Int32Array;
  /** Overall, balanced, per-class, many/medium/few accuracy and ECE on labelled data. */
  evaluate(data: LabeledData, options?: EvaluateOptions): EvaluationReport;
  /** Training class counts of the last `fit` (or `restore`), or null before. */
  readonly classCounts: Float64Array | null;
  /** Trainer state (weights, optimizer slots, epoch, synthetic pool) as plain data. */
  state(): TrainerState;
  /** Restores a state from `state()`; training resumes bit-identically on the same backend. */
  restore(state: TrainerState): void;
  /** Writes `state()` to `path` (a directory) in Node. */
  save(path: string): Promise<void>;
  /** Reads a checkpoint directory written by `save`. */
  load(path: string): Promise<void>;
}

/** One batch as the step sees it. */
interface StepBatch {
  readonly real: tf.Tensor | null;
  readonly synthetic: tf.Tensor2D | null;
  readonly labels: Int32Array;
  readonly targets: tf.Tensor2D | undefined;
  readonly flags: Uint8Array;
  readonly rng: Rng;
}

interface SyntheticPool {
  readonly features: tf.Tensor2D;
  readonly labels: Int32Array;
}

/** Classes the model trains over (auxiliary heads train over more classes than they predict). */
function trainClasses(model: Model): number {
  return model.numTrainClasses ?? model.numClasses;
}

/**
 * Creates a trainer. Checks, before any tensor is made, that the loss's requirements are provided by the
 * model, that the options are valid, and (when synthesis is configured) that the model has a head input.
 *
 * @example
 * ```ts
 * const trainer = createTrainer({ model, loss: logitAdjustedLoss(), seed: 0, epochs: 30, batchSize: 256 });
 * const history = await trainer.fit(train, { validation: test });
 * ```
 */
export function createTrainer<R extends Requirement>(config: TrainerConfig<R>): Trainer {
  return new LoopTrainer(config as TrainerConfig);
}

class LoopTrainer implements Trainer {
  readonly model: Model;
  private readonly config: TrainerConfig;
  private readonly optimizer: Optimizer;
  private readonly lr: Schedule;
  private readonly sampler: Sampler;
  private readonly variables: readonly tf.Variable[];
  private readonly root: Rng;
  private readonly guard = new DisposeGuard('trainer');
  private pool: SyntheticPool | null = null;
  private poolEpoch = -1;
  private nextEpoch = 0;
  private globalStep = 0;
  private counts: Float64Array | null = null;
  private history: Logs[] = [];

  constructor(config: TrainerConfig) {
    validateConfig(config);
    this.config = config;
    this.model = config.model;
    this.optimizer = createOptimizer(config.optimizer ?? { kind: 'adam', learningRate: 1e-3 });
    const schedule = config.learningRate ?? { kind: 'constant' };
    this.lr = typeof schedule === 'function' ? schedule : lrSchedule(schedule, this.optimizer.learningRate);
    this.sampler = isSampler(config.sampler) ? config.sampler : createSampler(config.sampler ?? { kind: 'instance' });
    this.variables = config.trainable ?? config.model.trainableVariables;
    this.root = createRng(config.seed);
  }

  get epoch(): number {
    return this.nextEpoch;
  }

  get classCounts(): Float64Array | null {
    return this.counts === null ? null : Float64Array.from(this.counts);
  }

  private ctx(epoch: number): LossContext {
    return {
      epoch,
      step: this.globalStep,
      totalEpochs: this.config.epochs,
      ...(this.counts === null ? {} : { classCounts: this.counts }),
    };
  }

  step(x: tf.Tensor, labels: tf.Tensor1D | Int32Array, options: { readonly targets?: tf.Tensor2D } = {}): StepResult {
    this.guard.check();
    const y = labels instanceof Int32Array ? labels : Int32Array.from(labels.dataSync());
    checkSameSize('labels length = batch size', x.shape[0] ?? 0, 'labels.length', y.length);
    checkLabels('labels', y, trainClasses(this.model));
    const epoch = this.nextEpoch;
    const progress: Progress = { epoch, epochFloat: epoch + 1, step: this.globalStep, totalEpochs: this.config.epochs };
    const rng = this.root.fork(`step:${this.globalStep}`);
    return this.runStep({ real: x, synthetic: null, labels: y, targets: options.targets, flags: new Uint8Array(y.length), rng }, epoch, progress);
  }

  /** The synchronous heart: forward, loss, gradients, finite check, update, all in one tidy. */
  private runStep(batch: StepBatch, epoch: number, progress: Progress): StepResult {
    const names: string[] = [];
    const termValues: tf.Scalar[] = [];
    const ctx = this.ctx(epoch);
    const result = tf.tidy(() => {
      const labels = tf.tensor1d(batch.labels, 'int32');
      const f = (): tf.Scalar => {
        const terms = this.termsOf(batch, labels, ctx);
        let total: tf.Scalar | null = null;
        for (const [name, value] of Object.entries(terms)) {
          names.push(name);
          termValues.push(tf.keep(value));
          total = total === null ? value : (tf.add(total, value) as tf.Scalar);
        }
        if (total === null) throw new LongTailError('MISSING_INPUT', 'expected the loss to return at least one term. Received: terms={}');
        return total;
      };
      const { value, grads } = tf.variableGrads(f, [...this.variables]);
      const lossValue = value.dataSync()[0] as number;
      if (!Number.isFinite(lossValue)) return { loss: lossValue, applied: false };
      const gradList = this.variables.map((v) => grads[v.name] as tf.Tensor);
      this.optimizer.apply(this.variables, gradList, this.lr(progress));
      return { loss: lossValue, applied: true };
    });
    const terms: Record<string, number> = {};
    names.forEach((name, i) => {
      const t = termValues[i] as tf.Scalar;
      terms[name] = t.dataSync()[0] as number;
      t.dispose();
    });
    if (!result.applied) {
      throw new LongTailError(
        'NON_FINITE',
        `expected a finite loss. Received: loss=${result.loss} at epoch ${epoch} step ${this.globalStep}; weights were not updated`,
        { epoch, step: this.globalStep, ...(this.config.checkpoint ? { lastCheckpoint: this.config.checkpoint.path } : {}) },
      );
    }
    this.globalStep += 1;
    return { loss: result.loss, terms };
  }

  /** Reduced, named loss terms of one batch (inside the gradient tape). */
  private termsOf(batch: StepBatch, labels: tf.Tensor1D, ctx: LossContext): Record<string, tf.Scalar> {
    const { model, loss, objective } = this.config;
    if (objective !== undefined) {
      return {
        ...objective({
          model,
          x: batch.real,
          synthetic: batch.synthetic,
          labels,
          labelValues: batch.labels,
          syntheticFlags: batch.flags,
          ...(batch.targets === undefined ? {} : { targets: batch.targets }),
          ctx,
          rng: batch.rng,
        }),
      };
    }
    const out = forwardMixed(model, batch.real, batch.synthetic);
    const inputs = { ...out, labels, ctx, ...(batch.targets === undefined ? {} : { targets: batch.targets }) };
    const terms = (loss as Loss).terms(inputs as LossInputs);
    const reduced: Record<string, tf.Scalar> = {};
    for (const [name, term] of Object.entries(terms)) reduced[name] = reduceTerm(loss as Loss, term, labels, ctx);
    return reduced;
  }

  async fit(data: LabeledData, options: FitOptions = {}): Promise<History> {
    this.guard.check();
    validateData(data, this.model, 'data');
    if (options.validation !== undefined) validateData(options.validation, this.model, 'validation', this.model.numClasses);
    const { epochs, batchSize } = this.config;
    const callbacks = [...(this.config.callbacks ?? []), progressLogger(this.config.progress)];
    this.counts = Float64Array.from(ClassStats.fromLabels(data.y, { numClasses: trainClasses(this.model) }).counts);
    let stopReason: History['stopReason'] = 'completed';
    let message: string | undefined;
    const control: TrainingControl = {
      stop(reason) {
        stopReason = 'callback';
        message = reason;
      },
    };
    const stepsPerEpoch = Math.ceil(data.y.length / batchSize);
    for (const cb of callbacks) await cb.onTrainBegin?.({ epochs, startEpoch: this.nextEpoch, stepsPerEpoch });
    while (this.nextEpoch < epochs && stopReason === 'completed') {
      const epoch = this.nextEpoch;
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch);
      this.maybeSynthesize(data, epoch);
      const pool = this.pool;
      const labels = pool === null ? data.y : concatLabels(data.y, pool.labels);
      const rng = this.root.fork(`epoch:${epoch}`);
      const batches = [...this.sampler.batches(labels, { epoch, totalEpochs: epochs, batchSize, rng: rng.fork('sampler') })];
      const augmentRng = rng.fork('augment');
      let sum = 0;
      let seen = 0;
      const termSums: Record<string, number> = {};
      for (let b = 0; b < batches.length; b++) {
        if (options.signal?.aborted === true) {
          stopReason = 'aborted';
          break;
        }
        const idx = batches[b] as Int32Array;
        const progress: Progress = { epoch, epochFloat: epoch + (b + 1) / batches.length, step: this.globalStep, totalEpochs: epochs };
        const result = this.batchStep(data, idx, epoch, progress, augmentRng);
        sum += result.loss * idx.length;
        seen += idx.length;
        for (const [k, v] of Object.entries(result.terms)) termSums[k] = (termSums[k] ?? 0) + v * idx.length;
        for (const cb of callbacks) cb.onBatchEnd?.(this.globalStep - 1, { loss: result.loss, ...result.terms });
        // Yield to the event loop so AbortSignal listeners and timers run between steps.
        if (b % 8 === 7) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (stopReason === 'aborted') break;
      const logs: Record<string, number> = { epoch, loss: seen > 0 ? sum / seen : NaN, learningRate: this.lr({ epoch, epochFloat: epoch + 1, step: this.globalStep, totalEpochs: epochs }) };
      for (const [k, v] of Object.entries(termSums)) if (Object.keys(termSums).length > 1) logs[`loss/${k}`] = v / Math.max(1, seen);
      if (options.validation !== undefined) {
        const report = this.evaluate(options.validation);
        logs['valAccuracy'] = report.top1;
        logs['valBalancedAccuracy'] = report.balancedAccuracy;
        if (report.groups !== undefined) {
          logs['valMany'] = report.groups.many.accuracy;
          logs['valMedium'] = report.groups.medium.accuracy;
          logs['valFew'] = report.groups.few.accuracy;
        }
      }
      this.history.push(logs);
      this.nextEpoch = epoch + 1;
      for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs, control);
      const ck = this.config.checkpoint;
      if (ck !== undefined && ((epoch + 1) % (ck.every ?? 1) === 0 || this.nextEpoch === epochs)) await this.save(ck.path);
    }
    const history: History = { epochs: [...this.history], stopReason, ...(message === undefined ? {} : { message }) };
    for (const cb of callbacks) await cb.onTrainEnd?.({ epochs: history.epochs, stopReason });
    return history;
  }

  private batchStep(data: LabeledData, idx: Int32Array, epoch: number, progress: Progress, rng: Rng): StepResult {
    const n = data.y.length;
    let realCount = 0;
    for (let i = 0; i < idx.length; i++) if ((idx[i] as number) < n) realCount++;
    // Real samples first, then synthetic ones, labels in the same order.
    const real = new Int32Array(realCount);
    const synth = new Int32Array(idx.length - realCount);
    const labels = new Int32Array(idx.length);
    let r = 0;
    let s = 0;
    const pool = this.pool;
    for (let i = 0; i < idx.length; i++) {
      const j = idx[i] as number;
      if (j < n) real[r++] = j;
      else synth[s++] = j - n;
    }
    for (let i = 0; i < realCount; i++) labels[i] = data.y[real[i] as number] as number;
    for (let i = 0; i < synth.length; i++) labels[realCount + i] = pool === null ? 0 : (pool.labels[synth[i] as number] as number);
    const gatherRows = <T extends tf.Tensor>(source: T, rows: Int32Array): T =>
      tf.tidy(() => tf.gather(source, tf.tensor1d(rows, 'int32')) as T);
    let x: tf.Tensor | null = realCount > 0 ? gatherRows(data.x, real) : null;
    const syn = pool !== null && synth.length > 0 ? gatherRows(pool.features, synth) : null;
    let targets: tf.Tensor2D | undefined;
    try {
      if (x !== null && this.config.augment !== undefined) {
        const raw = x;
        const out = tf.tidy(() => {
          const o = this.config.augment!({ x: raw, labels: labels.subarray(0, realCount), rng });
          return o.targets === undefined ? { x: o.x } : { x: o.x, targets: o.targets };
        });
        raw.dispose();
        x = out.x;
        targets = out.targets;
      }
      if (targets !== undefined && syn !== null) {
        throw new LongTailError('INVALID_OPTION', 'expected augment without soft targets when synthesis is on. Received: augment returned targets');
      }
      const flags = new Uint8Array(realCount);
      if (data.synthetic !== undefined) for (let i = 0; i < realCount; i++) flags[i] = data.synthetic[real[i] as number] as number;
      return this.runStep({ real: x, synthetic: syn, labels, targets, flags, rng }, epoch, progress);
    } finally {
      x?.dispose();
      syn?.dispose();
      targets?.dispose();
    }
  }

  private maybeSynthesize(data: LabeledData, epoch: number): void {
    const syn = this.config.synthesis;
    if (syn === undefined) return;
    const start = syn.startEpoch ?? 0;
    if (epoch < start) return;
    const every = syn.refreshEvery ?? 0;
    const due = this.pool === null || (every > 0 && (epoch - start) % every === 0 && this.poolEpoch !== epoch);
    if (!due) return;
    const rng = this.root.fork(`synthesis:${epoch}`);
    // A refresh re-observes features of the current model: earlier statistics must not accumulate.
    if (this.pool !== null) syn.synthesizer.reset?.();
    const features = syn.source === 'inputs' ? data.x : this.embed(data.x);
    try {
      checkSameSize('synthesis features width = model.featureDim', this.model.featureDim, 'features.shape[1]', features.shape[1] ?? -1);
      const labels = tf.tensor1d(data.y, 'int32');
      try {
        syn.synthesizer.observe({ features: features as tf.Tensor2D, labels });
      } finally {
        labels.dispose();
      }
    } finally {
      if (features !== data.x) features.dispose();
    }
    const perClass = topUpRequest(syn.synthesizer.observedCounts(), syn.topUp ?? { kind: 'toMax' });
    const head = (f: tf.Tensor2D): tf.Tensor2D => this.model.head(f);
    const drawn = syn.synthesizer.sample({ perClass, head }, rng);
    const labels = Int32Array.from(drawn.labels.dataSync());
    drawn.labels.dispose();
    this.setPool({ features: drawn.features, labels }, epoch);
  }

  private setPool(pool: SyntheticPool | null, epoch: number): void {
    this.pool?.features.dispose();
    this.pool = pool;
    this.poolEpoch = epoch;
  }

  /** Embeddings of `x` in eval mode, in batches. */
  private embed(x: tf.Tensor): tf.Tensor2D {
    if (!this.model.provides.includes('embeddings')) {
      throw new LongTailError('MISSING_INPUT', `expected a model that provides embeddings for synthesis. Received: provides=[${this.model.provides.join(', ')}]`);
    }
    return this.batched(x, (xb) => this.model.forward(xb, 'eval').embeddings as tf.Tensor2D);
  }

  private batched(x: tf.Tensor, fn: (xb: tf.Tensor) => tf.Tensor2D, batchSize = this.config.evalBatchSize ?? 512): tf.Tensor2D {
    const n = x.shape[0] ?? 0;
    const parts: tf.Tensor2D[] = [];
    try {
      for (let i = 0; i < n; i += batchSize) {
        parts.push(tf.tidy(() => fn(tf.slice(x, i, Math.min(batchSize, n - i)))));
      }
      return tf.tidy(() => (parts.length === 1 ? (parts[0] as tf.Tensor2D).clone() : tf.concat(parts, 0)));
    } finally {
      parts.forEach((p) => p.dispose());
    }
  }

  logits(x: tf.Tensor, options: PredictOptions = {}): tf.Tensor2D {
    this.guard.check();
    const adjust = options.adjustLogits;
    return this.batched(
      x,
      (xb) => {
        const z = this.model.forward(xb, 'eval').logits;
        return adjust === undefined ? z : adjust(z);
      },
      options.batchSize ?? this.config.evalBatchSize ?? 512,
    );
  }

  evaluate(data: LabeledData, options: EvaluateOptions = {}): EvaluationReport {
    this.guard.check();
    validateData(data, this.model, 'data', this.model.numClasses);
    const logits = this.logits(data.x, options);
    const probs = tf.tidy(() => tf.softmax(logits));
    logits.dispose();
    const probabilities = probs.dataSync() as Float32Array;
    probs.dispose();
    const trainCounts = options.trainCounts ?? this.counts?.subarray(0, this.model.numClasses);
    return new ClassificationMetrics({
      numClasses: this.model.numClasses,
      ...(trainCounts === undefined ? {} : { trainCounts }),
    })
      .update({ labels: data.y, probabilities })
      .compute();
  }

  predict(x: tf.Tensor, options: PredictOptions = {}): Int32Array {
    const logits = this.logits(x, options);
    const arg = tf.tidy(() => tf.argMax(logits, 1));
    logits.dispose();
    const out = Int32Array.from(arg.dataSync());
    arg.dispose();
    return out;
  }

  state(): TrainerState {
    this.guard.check();
    return {
      format: 'longtail-trainer-state',
      version: 1,
      epoch: this.nextEpoch,
      step: this.globalStep,
      seed: this.config.seed,
      history: this.history.map((l) => ({ ...l })),
      variables: this.model.variables.map((v) => ({ name: v.name, shape: [...v.shape], values: Float32Array.from(v.dataSync() as Float32Array) })),
      optimizer: this.optimizer.saveState(this.variables),
      modelRng: this.model.getRngState?.() ?? null,
      pool:
        this.pool === null
          ? null
          : { epoch: this.poolEpoch, shape: [...this.pool.features.shape], features: Float32Array.from(this.pool.features.dataSync()), labels: Int32Array.from(this.pool.labels) },
    };
  }

  restore(state: TrainerState): void {
    this.guard.check();
    if (state?.format !== 'longtail-trainer-state') throw invalid('INVALID_DATA', 'a trainer state from state() or save()', 'format', state?.format);
    const vars = this.model.variables;
    checkSameSize('number of model variables', vars.length, 'state.variables.length', state.variables.length);
    vars.forEach((v, i) => {
      const saved = state.variables[i];
      if (saved === undefined || saved.values.length !== v.size) {
        throw invalid('SHAPE_MISMATCH', `variable ${i} with ${v.size} values`, 'state.variables[i].values.length', saved?.values.length);
      }
    });
    vars.forEach((v, i) => {
      const saved = state.variables[i] as TrainerState['variables'][number];
      tf.tidy(() => v.assign(tf.tensor(saved.values, v.shape, v.dtype)));
    });
    this.optimizer.loadState(state.optimizer, this.variables);
    if (state.modelRng !== null) this.model.setRngState?.(state.modelRng);
    this.nextEpoch = state.epoch;
    this.globalStep = state.step;
    this.history = state.history.map((l) => ({ ...l }));
    this.setPool(state.pool === null ? null : { features: tf.tensor2d(state.pool.features, state.pool.shape as [number, number]), labels: state.pool.labels }, state.pool?.epoch ?? -1);
  }

  async save(path: string): Promise<void> {
    await writeCheckpoint(path, this.state());
  }

  async load(path: string): Promise<void> {
    this.restore(await readCheckpoint(path));
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.optimizer.dispose();
    this.setPool(null, -1);
  }
}

/** Forward pass over real inputs and/or synthetic latent features; synthetic features skip the backbone. */
function forwardMixed(model: Model, real: tf.Tensor | null, synthetic: tf.Tensor2D | null): ForwardOutput {
  const out = real === null ? null : model.forward(real, 'train');
  if (synthetic === null) {
    if (out === null) throw new LongTailError('MISSING_INPUT', 'expected a non-empty batch. Received: batch size=0');
    return out;
  }
  const synLogits = model.head(synthetic, 'train');
  if (out === null) return { logits: synLogits, embeddings: synthetic };
  return {
    logits: tf.concat([out.logits, synLogits], 0),
    ...(out.embeddings === undefined ? {} : { embeddings: tf.concat([out.embeddings, synthetic], 0) }),
  };
}

function reduceTerm(loss: Loss, term: LossTerm, labels: tf.Tensor1D, ctx: LossContext): tf.Scalar {
  return term.kind === 'reduced' ? term.value : loss.reducer.reduce(term, { labels, ctx });
}

function concatLabels(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function isSampler(s: Sampler | SamplerSpec | undefined): s is Sampler {
  return s !== undefined && typeof (s as Sampler).batches === 'function';
}

function validateConfig(config: TrainerConfig): void {
  if (config === null || typeof config !== 'object') throw invalid('INVALID_OPTION', 'a trainer config object', 'config', config);
  if (config.model === undefined) throw new LongTailError('MISSING_INPUT', 'expected config.model. Received: model=undefined');
  const objective: unknown = config.objective;
  if ((config.loss === undefined) === (objective === undefined)) {
    throw new LongTailError('MISSING_INPUT', `expected exactly one of config.loss and config.objective. Received: ${config.loss === undefined ? 'neither' : 'both'}`);
  }
  if (objective !== undefined && typeof objective !== 'function') throw invalid('INVALID_OPTION', 'objective to be a function', 'objective', typeof objective);
  checkInteger('seed', config.seed, { min: Number.MIN_SAFE_INTEGER });
  checkInteger('epochs', config.epochs, { min: 1 });
  checkInteger('batchSize', config.batchSize, { min: 1 });
  if (config.evalBatchSize !== undefined) checkInteger('evalBatchSize', config.evalBatchSize, { min: 1 });
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
  const syn = config.synthesis;
  if (syn !== undefined) {
    checkInteger('synthesis.startEpoch', syn.startEpoch ?? 0);
    checkInteger('synthesis.refreshEvery', syn.refreshEvery ?? 0);
    topUpRequest([1], syn.topUp ?? { kind: 'toMax' }); // validates the policy before any tensor exists
    if ((syn.refreshEvery ?? 0) > 0 && typeof syn.synthesizer.reset !== 'function') {
      throw new LongTailError(
        'INVALID_OPTION',
        `expected a synthesizer with reset() when synthesis.refreshEvery > 0 (refreshes re-observe moving features). Received: synthesizer ${syn.synthesizer.kind} without reset()`,
      );
    }
    checkSameSize('synthesizer classes = model training classes', trainClasses(config.model), 'synthesizer.numClasses', syn.synthesizer.numClasses);
    if (requires.some((r) => r === 'projections')) {
      throw new LongTailError('INVALID_OPTION', `expected a loss without projections when synthesis is on (synthetic latents have none). Received: requires=[${requires.join(', ')}]`);
    }
  }
  if (config.checkpoint !== undefined) {
    if (typeof config.checkpoint.path !== 'string' || config.checkpoint.path.length === 0) throw invalid('INVALID_OPTION', 'checkpoint.path to be a directory path', 'checkpoint.path', config.checkpoint.path);
    checkInteger('checkpoint.every', config.checkpoint.every ?? 1, { min: 1 });
  }
}

function validateData(data: LabeledData, model: Model, name: string, classes = trainClasses(model)): void {
  if (data === null || typeof data !== 'object' || !(data.x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', `${name} as { x: Tensor, y: Int32Array }`, name, data);
  checkSameSize(`${name}.y length = ${name}.x.shape[0]`, data.x.shape[0] ?? 0, `${name}.y.length`, data.y.length);
  checkLabels(`${name}.y`, data.y, classes);
}
