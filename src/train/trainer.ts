/**
 * The Trainer: one typed training loop for every long-tail method. Models declare what they provide,
 * losses what they require; the trainer composes model, loss, sampler, optimizer, schedules, synthesis
 * and callbacks, and owns nothing but its optimizer slots and synthetic pool.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions } from '../core/options.js';
import { createRng, restoreRng, type Rng } from '../core/rng.js';
import { DisposeGuard, valueAndGrads } from '../core/tensors.js';
import { checkLabels, checkRange, checkSameSize } from '../core/validate.js';
import { trainValidationSplit } from '../data/labeled-data.js';
import type { LabeledData } from '../data/types.js';
import { evaluateLoss } from '../losses/evaluate.js';
import type { Loss, LossContext, LossInputs } from '../losses/types.js';
import type { ForwardOutput, Model, Requirement } from '../models/types.js';
import { ClassStats } from '../data/class-stats.js';
import { ClassificationMetrics, type EvaluationReport } from '../metrics/report.js';
import { createSampler } from '../samplers/index.js';
import type { Sampler } from '../samplers/types.js';
import { topUpRequest } from '../synth/top-up.js';
import { progressLogger, type Logs, type TrainingControl } from './callbacks.js';
import { readCheckpoint, writeCheckpoint, writeFileAtomic } from './checkpoint.js';
import { buildManifest, fingerprintData, weightsHash, type DataFingerprint, type RunManifest } from './manifest.js';
import {
  EVALUATE_KEYS,
  FIT_KEYS,
  PREDICT_KEYS,
  STEP_KEYS,
  checkSampleShape,
  trainClasses,
  validateConfig,
  validateData,
  type EvaluateOptions,
  type FitOptions,
  type History,
  type PredictOptions,
  type StepOptions,
  type StepResult,
  type Trainer,
  type TrainerConfig,
} from './config.js';
import { createOptimizer, DEFAULT_OPTIMIZER, type Optimizer } from './optimizers.js';
import { lrSchedule, type Progress, type Schedule } from './schedules.js';
import { checkPositionFits, checkRngState, checkStateFor, type EpochPosition, type TrainerState } from './state.js';

export type {
  DropLast,
  EvaluateOptions,
  FitOptions,
  History,
  Objective,
  ObjectiveInputs,
  PredictOptions,
  StepOptions,
  StepResult,
  SynthesisConfig,
  Trainer,
  TrainerBaseConfig,
  TrainerConfig,
} from './config.js';

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

/** An epoch as it runs: its batches, where it stands, and the sums behind its logged loss. */
interface LiveEpoch {
  readonly epoch: number;
  readonly batches: readonly Int32Array[];
  readonly augmentRng: Rng;
  batch: number;
  loss: number;
  seen: number;
  terms: Record<string, number>;
}

/**
 * Lets timers and abort listeners run between steps. `setImmediate` costs microseconds in Node, where a
 * `setTimeout(0)` would cost a millisecond per step; browsers get a message-channel hop.
 */
const yieldToEventLoop: () => Promise<void> = (() => {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') {
    const immediate = g.setImmediate;
    return () => new Promise<void>((resolve) => void immediate(resolve));
  }
  if (typeof g.MessageChannel === 'function') {
    const channel = new g.MessageChannel();
    const waiting: (() => void)[] = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    return () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        channel.port2.postMessage(0);
      });
  }
  return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
})();

/**
 * Creates a trainer. Checks, before any tensor is made, that the loss's requirements are provided by the
 * model, that the options are valid (unknown keys included), and (when synthesis is configured) that the
 * synthesizer fits the model.
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
  /** Model variables the optimizer does not update (batch-norm statistics): restored if a step fails. */
  private readonly stateVariables: readonly tf.Variable[];
  private readonly dropSingleton: boolean;
  private readonly root: Rng;
  private readonly guard = new DisposeGuard('trainer');
  private pool: SyntheticPool | null = null;
  private poolEpoch = -1;
  private nextEpoch = 0;
  private steps = 0;
  private counts: Float64Array | null = null;
  private epochLogs: Logs[] = [];
  private live: LiveEpoch | null = null;
  private readonly initialWeights: string;
  private lastManifest: RunManifest | null = null;
  private fitting = false;
  /** A host copy of the training inputs while `fit` runs, when gathering batches from it is cheaper. */
  private hostRows: HostRows | null = null;

  constructor(config: TrainerConfig) {
    validateConfig(config);
    this.config = config;
    this.model = config.model;
    this.optimizer = createOptimizer(config.optimizer ?? DEFAULT_OPTIMIZER);
    const schedule = config.learningRate ?? { kind: 'constant' };
    this.lr = typeof schedule === 'function' ? schedule : lrSchedule(schedule, this.optimizer.learningRate);
    this.sampler = isSampler(config.sampler) ? config.sampler : createSampler(config.sampler ?? { kind: 'instance' });
    this.variables = config.trainable ?? config.model.trainableVariables;
    const trainable = new Set(config.model.trainableVariables);
    this.stateVariables = config.model.variables.filter((v) => !trainable.has(v));
    const dropLast = config.dropLast ?? 'auto';
    this.dropSingleton = dropLast === 'singleton' || (dropLast === 'auto' && this.stateVariables.length > 0);
    this.root = createRng(config.seed);
    if (config.classCounts !== undefined) this.counts = Float64Array.from(config.classCounts);
    this.initialWeights = weightsHash(config.model.variables);
  }

  get manifest(): RunManifest | null {
    return this.lastManifest;
  }

  get epoch(): number {
    return this.nextEpoch;
  }

  get globalStep(): number {
    return this.steps;
  }

  get epochs(): number {
    return this.config.epochs;
  }

  get done(): boolean {
    return this.live === null && this.nextEpoch >= this.config.epochs;
  }

  get history(): readonly Logs[] {
    return this.epochLogs.map((l) => ({ ...l }));
  }

  get classCounts(): Float64Array | null {
    return this.counts === null ? null : Float64Array.from(this.counts);
  }

  private ctx(epoch: number): LossContext {
    return {
      epoch,
      step: this.steps,
      totalEpochs: this.config.epochs,
      ...(this.counts === null ? {} : { classCounts: this.counts }),
    };
  }

  step(x: tf.Tensor, labels: tf.Tensor1D | Int32Array | readonly number[], options?: StepOptions): StepResult {
    this.guard.check();
    const o = checkOptions('step options', options, STEP_KEYS);
    if (!(x instanceof tf.Tensor) || x.isDisposed) throw invalid('INVALID_OPTION', 'x to be a live tf.Tensor', 'x', x instanceof tf.Tensor ? 'a disposed tensor' : typeof x);
    const y = hostLabels(labels, trainClasses(this.model));
    checkSameSize('labels length = batch size', x.shape[0] ?? 0, 'labels.length', y.length);
    const epoch = this.nextEpoch;
    const progress: Progress = { epoch, epochFloat: epoch + 1, step: this.steps, totalEpochs: this.config.epochs };
    const rng = this.root.fork(`step:${this.steps}`);
    return this.runStep({ real: x, synthetic: null, labels: y, targets: o.targets, flags: new Uint8Array(y.length), rng }, epoch, progress);
  }

  /**
   * The synchronous heart: forward, loss, gradients, one finiteness check of the loss and every gradient,
   * update. Nothing non-finite reaches a variable: on failure the batch-norm statistics the forward pass
   * moved are put back and `NON_FINITE` names the first bad gradient.
   */
  private runStep(batch: StepBatch, epoch: number, progress: Progress): StepResult {
    const ctx = this.ctx(epoch);
    const saved = this.stateVariables.map((v) => tf.clone(v));
    let kept: Record<string, tf.Scalar> = {};
    let committed = false;
    try {
      const outcome = tf.tidy(() => {
        const labels = tf.tensor1d(batch.labels, 'int32');
        const { value, grads } = valueAndGrads(() => {
          const terms = this.termsOf(batch, labels, ctx);
          kept = terms.named;
          for (const t of Object.values(kept)) tf.keep(t);
          return terms.total;
        }, this.variables);
        // One read for the loss and a finiteness probe per gradient: a sum is non-finite iff an entry is.
        const probes = grads.map((g) => (g === null ? tf.scalar(0) : tf.sum(g)));
        const read = tf.concat([tf.reshape(value, [1]), ...probes.map((p) => tf.reshape(p, [1]))]).dataSync();
        const loss = read[0] as number;
        let bad = Number.isFinite(loss) ? -1 : -2;
        for (let i = 0; i < grads.length && bad === -1; i++) if (!Number.isFinite(read[i + 1] as number)) bad = i;
        if (bad !== -1) return { loss, bad };
        const gradList = grads.map((g, i) => g ?? tf.zerosLike(this.variables[i] as tf.Variable));
        this.optimizer.apply(this.variables, gradList, this.lr(progress));
        return { loss, bad };
      });
      const terms: Record<string, number> = {};
      for (const [name, t] of Object.entries(kept)) terms[name] = t.dataSync()[0] as number;
      if (outcome.bad !== -1) {
        const where = outcome.bad === -2 ? `loss=${outcome.loss}` : `a non-finite gradient of variable ${outcome.bad} (${(this.variables[outcome.bad] as tf.Variable).name}, shape [${(this.variables[outcome.bad] as tf.Variable).shape.join(', ')}]) with loss=${outcome.loss}`;
        throw new LongTailError('NON_FINITE', `expected a finite loss and gradients. Received: ${where} at epoch ${epoch} step ${this.steps}; weights were not updated`, {
          epoch,
          step: this.steps,
          ...(outcome.bad >= 0 ? { variable: outcome.bad } : {}),
          ...(this.config.checkpoint ? { lastCheckpoint: this.config.checkpoint.path } : {}),
        });
      }
      committed = true;
      this.steps += 1;
      return { loss: outcome.loss, terms };
    } finally {
      // A failed step (non-finite, or an error anywhere in it) leaves batch-norm statistics as they were.
      if (!committed) this.stateVariables.forEach((v, i) => v.assign(saved[i] as tf.Tensor));
      for (const t of Object.values(kept)) t.dispose();
      saved.forEach((t) => t.dispose());
    }
  }

  /** Reduced, named loss terms of one batch and their sum (inside the gradient tape). */
  private termsOf(batch: StepBatch, labels: tf.Tensor1D, ctx: LossContext): { total: tf.Scalar; named: Record<string, tf.Scalar> } {
    const { model, loss, objective } = this.config;
    if (objective !== undefined) {
      const named = {
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
      const values = Object.values(named);
      if (values.length === 0) throw new LongTailError('MISSING_INPUT', 'expected the objective to return at least one term. Received: terms={}');
      return { total: values.reduce((a, b) => tf.add(a, b)), named };
    }
    const out = forwardMixed(model, batch.real, batch.synthetic);
    const inputs = { ...out, labels, labelValues: batch.labels, ctx, ...(batch.targets === undefined ? {} : { targets: batch.targets }) };
    const { total, terms } = evaluateLoss(loss as Loss, inputs as LossInputs);
    return { total, named: { ...terms } };
  }

  async fit(data: LabeledData, options?: FitOptions): Promise<History> {
    this.guard.check();
    if (this.fitting) {
      throw new LongTailError('INVALID_OPTION', 'expected one fit at a time on a trainer. Received: fit called while another fit of this trainer is still running (await the first one)');
    }
    this.fitting = true;
    try {
      return await this.fitChecked(data, options);
    } finally {
      this.fitting = false;
      this.hostRows = null;
    }
  }

  private async fitChecked(data: LabeledData, options?: FitOptions): Promise<History> {
    const o = checkOptions('fit options', options, FIT_KEYS);
    validateData(data, 'data', trainClasses(this.model));
    if (o.validationSplit === undefined) return this.fitOn(data, o);
    if (o.validation !== undefined) throw new LongTailError('INVALID_OPTION', 'expected one of validation and validationSplit. Received: both');
    checkRange('validationSplit', o.validationSplit, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
    const split = trainValidationSplit(data, { validationFraction: o.validationSplit, seed: `${this.config.seed}:validationSplit`, stratify: true });
    try {
      const { validationSplit: _split, ...rest } = o;
      return await this.fitOn(split.train, { ...rest, validation: split.validation });
    } finally {
      split.train.x.dispose();
      split.validation.x.dispose();
    }
  }

  private async fitOn(data: LabeledData, o: FitOptions): Promise<History> {
    if (o.validation !== undefined) {
      validateData(o.validation, 'validation', this.model.numClasses);
      checkSampleShape('validation', data.x.shape, o.validation.x.shape);
    }
    if (o.signal !== undefined && !(typeof o.signal === 'object' && typeof o.signal.aborted === 'boolean')) {
      throw invalid('INVALID_OPTION', 'signal to be an AbortSignal', 'signal', typeof o.signal);
    }
    const { epochs } = this.config;
    if (this.nextEpoch >= epochs && this.live === null) {
      throw new LongTailError(
        'INVALID_OPTION',
        `expected a trainer with epochs left to run. Received: epoch=${this.nextEpoch} of epochs=${epochs} (every epoch has run; build a new trainer with more epochs, restoring this one's state, to train further)`,
      );
    }
    if (this.live !== null) checkPositionFits(this.positionOf(this.live), data.y.length + (this.pool?.labels.length ?? 0));
    this.hostRows = hostRowsOf(data.x);
    const callbacks = [...(this.config.callbacks ?? []), progressLogger(this.config.progress)];
    this.counts = Float64Array.from(ClassStats.fromLabels(data.y, { numClasses: trainClasses(this.model) }).counts);
    const fingerprint: DataFingerprint = fingerprintData(data);
    let stopReason: History['stopReason'] = 'completed';
    let message: string | undefined;
    const control: TrainingControl = {
      stop(reason) {
        stopReason = 'callback';
        message = reason;
      },
    };
    const aborted = (): boolean => o.signal?.aborted === true;
    for (const cb of callbacks) await cb.onTrainBegin?.({ epochs, startEpoch: this.nextEpoch, stepsPerEpoch: this.expectedSteps(data), model: this.model });
    while (this.nextEpoch < epochs && stopReason === 'completed') {
      if (aborted()) {
        stopReason = 'aborted';
        break;
      }
      const live = this.live ?? this.beginEpoch(data, this.nextEpoch);
      this.live = live;
      const epoch = live.epoch;
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch, { steps: live.batches.length });
      while (live.batch < live.batches.length) {
        if (aborted()) {
          stopReason = 'aborted';
          break;
        }
        const b = live.batch;
        const idx = live.batches[b] as Int32Array;
        const progress: Progress = { epoch, epochFloat: epoch + (b + 1) / live.batches.length, step: this.steps, totalEpochs: epochs };
        const result = this.batchStep(data, idx, epoch, progress, live.augmentRng);
        live.batch = b + 1;
        if (result !== null) {
          live.loss += result.loss * result.size;
          live.seen += result.size;
          for (const [k, v] of Object.entries(result.terms)) live.terms[k] = (live.terms[k] ?? 0) + v * result.size;
          for (const cb of callbacks) cb.onBatchEnd?.(this.steps - 1, { loss: result.loss, ...result.terms });
        }
        await yieldToEventLoop();
      }
      if (stopReason === 'aborted') break;
      this.live = null;
      const logs: Record<string, number> = {
        epoch,
        loss: live.seen > 0 ? live.loss / live.seen : NaN,
        learningRate: this.lr({ epoch, epochFloat: epoch + 1, step: this.steps, totalEpochs: epochs }),
      };
      const termNames = Object.keys(live.terms);
      if (termNames.length > 1) for (const k of termNames) logs[`loss/${k}`] = (live.terms[k] as number) / Math.max(1, live.seen);
      if (o.validation !== undefined) {
        const report = this.evaluate(o.validation);
        logs['valAccuracy'] = report.top1;
        logs['valBalancedAccuracy'] = report.balancedAccuracy;
        if (report.groups !== undefined) {
          logs['valMany'] = report.groups.many.accuracy;
          logs['valMedium'] = report.groups.medium.accuracy;
          logs['valFew'] = report.groups.few.accuracy;
        }
      }
      this.epochLogs.push(logs);
      this.nextEpoch = epoch + 1;
      // Checkpoints saved from here on carry the manifest of this run so far.
      this.lastManifest = this.manifestNow(fingerprint, this.nextEpoch === epochs ? 'completed' : 'running');
      for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs, control);
      const ck = this.config.checkpoint;
      if (ck !== undefined && ((epoch + 1) % (ck.every ?? 1) === 0 || this.nextEpoch === epochs)) await this.save(ck.path);
    }
    this.lastManifest = this.manifestNow(fingerprint, stopReason);
    const history: History = { epochs: [...this.epochLogs], stopReason, ...(message === undefined ? {} : { message }), manifest: this.lastManifest };
    for (const cb of callbacks) await cb.onTrainEnd?.({ epochs: history.epochs, stopReason });
    return history;
  }

  private manifestNow(data: DataFingerprint, stopReason: RunManifest['stopReason']): RunManifest {
    return buildManifest({ config: this.config, data, classCounts: this.counts ?? [], initialWeights: this.initialWeights, history: this.epochLogs, stopReason });
  }

  /** Synthesis (when due) and the epoch's batch order, drawn once from the epoch's own random streams. */
  private beginEpoch(data: LabeledData, epoch: number): LiveEpoch {
    this.maybeSynthesize(data, epoch);
    const pool = this.pool;
    const labels = pool === null ? data.y : concatLabels(data.y, pool.labels);
    const rng = this.root.fork(`epoch:${epoch}`);
    const { epochs, batchSize } = this.config;
    const batches = [...this.sampler.batches(labels, { epoch, totalEpochs: epochs, batchSize, rng: rng.fork('sampler') })];
    return { epoch, batches, augmentRng: rng.fork('augment'), batch: 0, loss: 0, seen: 0, terms: {} };
  }

  /** Steps per epoch as announced to callbacks: real samples plus the synthetic pool (present or due). */
  private expectedSteps(data: LabeledData): number {
    if (this.live !== null) return this.live.batches.length;
    let total = data.y.length + (this.pool?.labels.length ?? 0);
    const syn = this.config.synthesis;
    if (this.pool === null && syn !== undefined && (syn.startEpoch ?? 0) <= this.nextEpoch && this.counts !== null) {
      total += topUpRequest(this.counts, syn.topUp ?? { kind: 'toMax' }).reduce((a, b) => a + b, 0);
    }
    return Math.ceil(total / this.config.batchSize);
  }

  /** Gathers, augments and runs one batch; null when the batch was left empty (see `dropLast`). */
  private batchStep(data: LabeledData, idx: Int32Array, epoch: number, progress: Progress, rng: Rng): (StepResult & { size: number }) | null {
    if (data.x.isDisposed) throw new LongTailError('DISPOSED', 'expected data.x to stay alive while fit runs. Received: data.x disposed during fit', { name: 'data.x' });
    const n = data.y.length;
    let realCount = 0;
    for (let i = 0; i < idx.length; i++) if ((idx[i] as number) < n) realCount++;
    const dropReal = realCount === 1 && this.dropSingleton;
    if (dropReal) realCount = 0;
    // Real samples first, then synthetic ones, labels in the same order.
    const real = new Int32Array(realCount);
    const synth = new Int32Array(idx.length - realCount - (dropReal ? 1 : 0));
    let r = 0;
    let s = 0;
    const pool = this.pool;
    for (let i = 0; i < idx.length; i++) {
      const j = idx[i] as number;
      if (j >= n) synth[s++] = j - n;
      else if (!dropReal) real[r++] = j;
    }
    const labels = new Int32Array(realCount + synth.length);
    if (labels.length === 0) return null;
    for (let i = 0; i < realCount; i++) labels[i] = data.y[real[i] as number] as number;
    for (let i = 0; i < synth.length; i++) labels[realCount + i] = pool === null ? 0 : (pool.labels[synth[i] as number] as number);
    const gatherRows = <T extends tf.Tensor>(source: T, rows: Int32Array): T => tf.tidy(() => tf.gather(source, tf.tensor1d(rows, 'int32')) as T);
    const host = this.hostRows;
    let x: tf.Tensor | null = realCount === 0 ? null : host !== null && host.source === data.x ? gatherHostRows(host, real) : gatherRows(data.x, real);
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
      return { ...this.runStep({ real: x, synthetic: syn, labels, targets, flags, rng }, epoch, progress), size: labels.length };
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
    const drawn = syn.synthesizer.sample({ perClass, head, epoch }, rng);
    let labels: Int32Array;
    try {
      labels = Int32Array.from(drawn.labels.dataSync());
    } catch (e) {
      drawn.features.dispose();
      throw e;
    } finally {
      drawn.labels.dispose();
    }
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

  logits(x: tf.Tensor, options?: PredictOptions): tf.Tensor2D {
    this.guard.check();
    const o = checkOptions('logits options', options, PREDICT_KEYS);
    if (!(x instanceof tf.Tensor) || x.isDisposed) throw invalid('INVALID_OPTION', 'x to be a live tf.Tensor', 'x', x instanceof tf.Tensor ? 'a disposed tensor' : typeof x);
    const adjust = o.adjustLogits;
    return this.batched(
      x,
      (xb) => {
        const z = this.model.forward(xb, 'eval').logits;
        return adjust === undefined ? z : adjust(z);
      },
      o.batchSize ?? this.config.evalBatchSize ?? 512,
    );
  }

  evaluate(data: LabeledData, options?: EvaluateOptions): EvaluationReport {
    this.guard.check();
    const o = checkOptions('evaluate options', options, EVALUATE_KEYS);
    validateData(data, 'data', this.model.numClasses);
    const { trainCounts: given, ...predict } = o;
    const logits = this.logits(data.x, predict);
    const probs = tf.tidy(() => tf.softmax(logits));
    logits.dispose();
    const probabilities = probs.dataSync() as Float32Array;
    probs.dispose();
    const trainCounts = given ?? this.counts?.subarray(0, this.model.numClasses);
    return new ClassificationMetrics({
      numClasses: this.model.numClasses,
      ...(trainCounts === undefined ? {} : { trainCounts }),
    })
      .update({ labels: data.y, probabilities })
      .compute();
  }

  predict(x: tf.Tensor, options?: PredictOptions): Int32Array {
    const logits = this.logits(x, checkOptions('predict options', options, PREDICT_KEYS));
    const arg = tf.tidy(() => tf.argMax(logits, 1));
    logits.dispose();
    const out = Int32Array.from(arg.dataSync());
    arg.dispose();
    return out;
  }

  private positionOf(live: LiveEpoch): EpochPosition {
    return {
      epoch: live.epoch,
      batch: live.batch,
      batches: live.batches.map((b) => Int32Array.from(b)),
      augmentRng: live.augmentRng.state(),
      sums: { loss: live.loss, seen: live.seen, terms: { ...live.terms } },
    };
  }

  state(): TrainerState {
    this.guard.check();
    return {
      format: 'longtail-trainer-state',
      version: 2,
      epoch: this.live?.epoch ?? this.nextEpoch,
      step: this.steps,
      seed: this.config.seed,
      history: this.epochLogs.map((l) => ({ ...l })),
      variables: this.model.variables.map((v) => ({ name: v.name, shape: [...v.shape], values: Float32Array.from(v.dataSync() as Float32Array) })),
      optimizer: this.optimizer.saveState(this.variables),
      modelRng: this.model.getRngState?.() ?? null,
      pool:
        this.pool === null
          ? null
          : { epoch: this.poolEpoch, shape: [...this.pool.features.shape], features: Float32Array.from(this.pool.features.dataSync()), labels: Int32Array.from(this.pool.labels) },
      position: this.live === null ? null : this.positionOf(this.live),
    };
  }

  restore(state: TrainerState): void {
    this.guard.check();
    // Everything is checked before anything is assigned: a bad state leaves the trainer as it was.
    checkStateFor(state, {
      variableShapes: this.model.variables.map((v) => v.shape),
      seed: this.config.seed,
      epochs: this.config.epochs,
      featureDim: this.model.featureDim,
      trainClasses: trainClasses(this.model),
    });
    this.model.variables.forEach((v, i) => {
      if (v.dtype !== 'float32') throw invalid('INVALID_CHECKPOINT', `float32 model variables`, `model.variables[${i}].dtype`, v.dtype);
    });
    this.optimizer.checkState(state.optimizer, this.variables);
    if (state.modelRng !== null) {
      if (typeof this.model.setRngState !== 'function') throw invalid('INVALID_CHECKPOINT', `no model random stream (model ${this.model.kind} has none)`, 'modelRng', state.modelRng.key);
      checkRngState('modelRng', state.modelRng);
    }
    const position = state.position;
    const augmentRng = position === null ? null : restoreRng(position.augmentRng);
    this.model.variables.forEach((v, i) => {
      const saved = state.variables[i] as TrainerState['variables'][number];
      tf.tidy(() => v.assign(tf.tensor(saved.values, v.shape, v.dtype)));
    });
    this.optimizer.loadState(state.optimizer, this.variables);
    if (state.modelRng !== null) this.model.setRngState?.(state.modelRng);
    this.nextEpoch = state.epoch;
    this.steps = state.step;
    this.epochLogs = state.history.map((l) => ({ ...l }));
    this.setPool(
      state.pool === null ? null : { features: tf.tensor2d(state.pool.features, state.pool.shape as [number, number]), labels: Int32Array.from(state.pool.labels) },
      state.pool?.epoch ?? -1,
    );
    this.live =
      position === null || augmentRng === null
        ? null
        : {
            epoch: position.epoch,
            batches: position.batches.map((b) => Int32Array.from(b)),
            augmentRng,
            batch: position.batch,
            loss: position.sums.loss,
            seen: position.sums.seen,
            terms: { ...position.sums.terms },
          };
  }

  async save(path: string): Promise<void> {
    this.guard.check();
    await writeCheckpoint(path, this.state());
    if (this.lastManifest !== null) await writeFileAtomic(path, 'manifest.json', new TextEncoder().encode(`${JSON.stringify(this.lastManifest, null, 2)}\n`));
  }

  async load(path: string): Promise<void> {
    this.guard.check();
    this.restore(await readCheckpoint(path));
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.optimizer.dispose();
    this.setPool(null, -1);
  }
}

/** Training inputs kept on the host for the length of a `fit`: the tensor they copy and their values. */
interface HostRows {
  readonly source: tf.Tensor;
  readonly values: Float32Array;
  readonly rowSize: number;
  readonly rowShape: readonly number[];
}

/** Host copies above this many bytes are not made (the batches are gathered by tf.gather instead). */
const HOST_ROWS_MAX_BYTES = 1 << 30;

/**
 * A host copy of float32 inputs on a backend whose tensors live in host memory (cpu, wasm), where
 * copying a batch's rows in JavaScript and uploading them once costs a small fraction of `tf.gather`
 * (measured by bench:step: 0.05 vs 3.4 ms for 256 rows of 512 floats on wasm). Null elsewhere.
 */
function hostRowsOf(x: tf.Tensor): HostRows | null {
  const backend = tf.getBackend();
  if ((backend !== 'wasm' && backend !== 'cpu') || x.dtype !== 'float32' || x.size * 4 > HOST_ROWS_MAX_BYTES) return null;
  const rowShape = x.shape.slice(1);
  return { source: x, values: x.dataSync() as Float32Array, rowSize: rowShape.reduce((a, b) => a * b, 1), rowShape };
}

/** The rows `rows` of a host copy as one new tensor (the same values `tf.gather` would give). */
function gatherHostRows(host: HostRows, rows: Int32Array): tf.Tensor {
  const size = host.rowSize;
  const out = new Float32Array(rows.length * size);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    out.set(host.values.subarray(r * size, r * size + size), i * size);
  }
  return tf.tensor(out, [rows.length, ...host.rowShape], 'float32');
}

/** Labels of a `step` call as host integers, checked exactly as `fit` checks `data.y`. */
function hostLabels(labels: tf.Tensor1D | Int32Array | readonly number[], classes: number): Int32Array {
  if (labels instanceof tf.Tensor) {
    if (labels.isDisposed) throw new LongTailError('DISPOSED', 'expected a live tensor labels. Received: labels after dispose()', { name: 'labels' });
    if (labels.dtype !== 'int32') {
      throw new LongTailError('DTYPE_MISMATCH', `expected labels of dtype int32 (e.g. tf.tensor1d(values, 'int32')). Received: labels.dtype=${labels.dtype}`, { name: 'labels' });
    }
    return checkLabels('labels', Int32Array.from(labels.dataSync()), classes);
  }
  return Int32Array.from(checkLabels('labels', labels as ArrayLike<number>, classes));
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

function concatLabels(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function isSampler(s: unknown): s is Sampler {
  return s !== undefined && s !== null && typeof (s as Sampler).batches === 'function';
}
