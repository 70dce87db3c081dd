/**
 * The Trainer: one typed training loop for every long-tail method. Models declare what they provide,
 * losses what they require; the trainer composes model, loss, sampler, optimizer, schedules, synthesis
 * and callbacks, and owns nothing but its optimizer slots and synthetic pool.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions } from '../core/options.js';
import { seededRng, restoreRng, type Rng } from '../core/rng.js';
import { DisposeGuard, type Disposable } from '../core/tensors.js';
import { checkRange, checkSameSize } from '../core/validate.js';
import { trainValidationSplit } from '../data/labeled-data.js';
import type { LabeledData } from '../data/types.js';
import type { Loss, LossContext, LossState, LossStateSnapshot } from '../losses/types.js';
import type { Model, Requirement } from '../models/types.js';
import { stateVariablesOf } from '../models/classifier.js';
import { ClassStats } from '../data/class-stats.js';
import { ClassificationMetrics, type EvaluationReport } from '../metrics/report.js';
import { argmaxLogits } from '../metrics/classification.js';
import { samplerFromConfig } from '../samplers/index.js';
import type { Sampler } from '../samplers/types.js';
import { topUpRequest } from '../synth/top-up.js';
import { progressLogger, type Logs, type TrainingControl } from './callbacks.js';
import { gatherHostRows, gatherInputRows, hostLabels, hostRowsOf, splitBatch, type HostRows } from './batch.js';
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
  type SynthesisRound,
  type Trainer,
  type TrainerConfig,
} from './config.js';
import { optimizerFromConfig, DEFAULT_OPTIMIZER, type Optimizer } from './optimizers.js';
import { lrSchedule, type Progress, type Schedule } from './schedules.js';
import { checkPositionFits, checkRngState, checkStateFor, type EpochPosition, type TrainerState } from './state.js';
import { embedRows, encodeRows, evalLogits } from './inference.js';
import { copyRound, drawPool, poolDue, type SyntheticPool } from './pool.js';
import { createHeadStep, headStepPlan, type HeadStep, type HeadStepBatch } from './head-step.js';
import { nonFiniteStep, runStep, viewsNeeded, type StepBatch, type StepContext } from './step.js';

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
  SynthesisRound,
  Trainer,
  TrainerBaseConfig,
  TrainerConfig,
  ViewBatch,
  ViewSpec,
  ViewTransform,
} from './config.js';

/** An epoch as it runs: its batches, where it stands, and the sums behind its logged loss. */
interface LiveEpoch {
  readonly epoch: number;
  readonly batches: readonly Int32Array[];
  readonly augmentRng: Rng;
  batch: number;
  loss: number;
  seen: number;
  terms: Record<string, number>;
  counts: Record<string, number>;
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
 * const loop = trainer({ model, loss: logitAdjustedLoss(), seed: 0, epochs: 30, batchSize: 256 });
 * const history = await loop.fit(train, { validation: test });
 * ```
 */
export function trainer<R extends Requirement>(config: TrainerConfig<R>): Trainer {
  return new LoopTrainer(config as TrainerConfig, []);
}

/** A trainer that also frees `owned` (components it was rebuilt with, e.g. by `trainerFromConfig`) on `dispose`. Internal. */
export function createOwningTrainer(config: TrainerConfig, owned: readonly Disposable[]): Trainer {
  return new LoopTrainer(config, owned);
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
  private rounds: SynthesisRound[] = [];
  /** The states the loss owns (refreshed before every epoch, saved in checkpoints). */
  private readonly lossStates: readonly LossState[];
  /** Views a step computes: those the loss reads and the ones they derive from, in config order. */
  private readonly stepViews: readonly string[];
  private readonly stepContext: StepContext;
  /** A host copy of the training inputs while `fit` runs, when gathering batches from it is cheaper. */
  private hostRows: HostRows | null = null;
  /** The dedicated step (train/head-step.ts) while `fit` runs, when the run qualifies for it. */
  private dedicated: HeadStep | null = null;

  constructor(
    config: TrainerConfig,
    private readonly owned: readonly Disposable[],
  ) {
    validateConfig(config);
    this.config = config;
    this.model = config.model;
    this.optimizer = optimizerFromConfig(config.optimizer ?? DEFAULT_OPTIMIZER);
    const schedule = config.learningRate ?? { kind: 'constant' };
    this.lr = typeof schedule === 'function' ? schedule : lrSchedule(schedule, this.optimizer.learningRate);
    this.sampler = isSampler(config.sampler) ? config.sampler : samplerFromConfig(config.sampler ?? { kind: 'instance' });
    this.variables = config.trainable ?? config.model.trainableVariables;
    this.stateVariables = stateVariablesOf(config.model);
    const dropLast = config.dropLast ?? 'auto';
    this.dropSingleton = dropLast === 'singleton' || (dropLast === 'auto' && this.stateVariables.length > 0);
    this.root = seededRng(config.seed);
    if (config.classCounts !== undefined) this.counts = Float64Array.from(config.classCounts);
    this.initialWeights = weightsHash(config.model.variables);
    this.lossStates = config.loss?.states ?? [];
    this.stepViews = viewsNeeded(config.views ?? {}, Object.keys(config.loss?.views ?? {}));
    this.stepContext = {
      model: config.model,
      loss: config.loss as Loss | undefined,
      objective: config.objective,
      views: config.views ?? {},
      stepViews: this.stepViews,
      variables: this.variables,
      stateVariables: this.stateVariables,
      optimizer: this.optimizer,
      lr: this.lr,
      checkpointPath: config.checkpoint?.path,
    };
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

  get synthesis(): readonly SynthesisRound[] {
    return this.rounds.map(copyRound);
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
    return this.stepOn({ real: x, synthetic: null, labels: y, targets: o.targets, flags: new Uint8Array(y.length), rng }, epoch, progress);
  }

  /**
   * The dedicated step for a linear head (or a small MLP + head) on host features with plain
   * cross-entropy: forward, gradient and update in one call, no tape (train/head-step.ts). Used only when
   * nothing else touches the batch (no objective, augment, views, input-space synthesis, loss state,
   * batch norm or dropout; batches with latent synthetic rows take the generic step); null otherwise. It shares the trainer's optimizer, so
   * checkpoints and resume are unchanged.
   */
  private dedicatedStep(data: LabeledData): HeadStep | null {
    const c = this.config;
    // A latent pool leaves the batches without synthetic rows to this step (those with some take the
    // generic one); an input-space pool's rows are not in the host copy of the inputs.
    if (c.loss === undefined || c.objective !== undefined || c.augment !== undefined || (c.synthesis !== undefined && (c.synthesis.space ?? 'latent') !== 'latent')) return null;
    if (this.stepViews.length > 0 || this.lossStates.length > 0 || this.stateVariables.length > 0 || this.hostRows === null || data.x.rank !== 2) return null;
    if (c.trainable !== undefined && (c.trainable.length !== this.model.trainableVariables.length || c.trainable.some((v, i) => v !== this.model.trainableVariables[i]))) return null;
    const plan = headStepPlan(this.model, c.loss as Loss);
    return plan === null ? null : createHeadStep({ ...plan, optimizer: this.optimizer });
  }

  private dedicatedOn(head: HeadStep, batch: HeadStepBatch, epoch: number): StepResult {
    const r = head.step(batch);
    if (r.bad !== -1) throw nonFiniteStep({ ...r, variables: this.variables, epoch, step: this.steps, checkpointPath: this.config.checkpoint?.path });
    this.steps += 1;
    return { loss: r.loss, terms: { crossEntropy: r.loss }, counts: {} };
  }

  /** One step (step.ts) at the trainer's position; the step count moves only when it succeeds. */
  private stepOn(batch: StepBatch, epoch: number, progress: Progress): StepResult {
    const result = runStep(this.stepContext, batch, { epoch, step: this.steps, progress, ctx: this.ctx(epoch) });
    this.steps += 1;
    return result;
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
      this.dedicated?.dispose();
      this.dedicated = null;
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
    this.dedicated = this.dedicatedStep(data);
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
          for (const [k, v] of Object.entries(result.counts)) live.counts[k] = (live.counts[k] ?? 0) + v;
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
      for (const [k, v] of Object.entries(live.counts)) logs[`count/${k}`] = v;
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
    const history: History = {
      epochs: [...this.epochLogs],
      stopReason,
      ...(message === undefined ? {} : { message }),
      ...(this.config.synthesis === undefined ? {} : { synthesis: this.rounds.map(copyRound) }),
      manifest: this.lastManifest,
    };
    for (const cb of callbacks) await cb.onTrainEnd?.({ epochs: history.epochs, stopReason });
    return history;
  }

  private manifestNow(data: DataFingerprint, stopReason: RunManifest['stopReason']): RunManifest {
    return buildManifest({ config: this.config, data, classCounts: this.counts ?? [], initialWeights: this.initialWeights, history: this.epochLogs, stopReason });
  }

  /** Synthesis (when due) and the epoch's batch order, drawn once from the epoch's own random streams. */
  private beginEpoch(data: LabeledData, epoch: number): LiveEpoch {
    this.maybeSynthesize(data, epoch);
    this.refreshLossStates(data, epoch);
    const pool = this.pool;
    const labels = pool === null ? data.y : concatLabels(data.y, pool.labels);
    const rng = this.root.fork(`epoch:${epoch}`);
    const { epochs, batchSize } = this.config;
    const batches = [...this.sampler.batches(labels, { epoch, totalEpochs: epochs, batchSize, rng: rng.fork('sampler') })];
    return { epoch, batches, augmentRng: rng.fork('augment'), batch: 0, loss: 0, seen: 0, terms: {}, counts: {} };
  }

  /** Every loss state, refreshed from the model as it stands before `epoch`. */
  private refreshLossStates(data: LabeledData, epoch: number): void {
    if (this.lossStates.length === 0) return;
    const inputPool = this.pool?.space === 'input' ? this.pool : null;
    const labels = inputPool === null ? data.y : concatLabels(data.y, inputPool.labels);
    const synthetic = new Uint8Array(labels.length);
    if (data.synthetic !== undefined) synthetic.set(data.synthetic.subarray(0, data.y.length), 0);
    synthetic.fill(1, data.y.length);
    for (const state of this.lossStates) {
      const rng = this.root.fork(`${state.key}:${epoch}`);
      state.refresh({
        epoch,
        rng,
        labels,
        synthetic,
        numClasses: trainClasses(this.model),
        encode: (options) => encodeRows({ model: this.model, views: this.config.views ?? {}, batchSize: this.config.evalBatchSize ?? 512 }, data, inputPool, options, rng),
      });
    }
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

  /**
   * Gathers, augments and runs one batch; null when the batch was left empty (see `dropLast`). Indices
   * below n are real rows, the rest index the pool; input-space pool rows join the real ones (they go
   * through the backbone, flagged synthetic), latent pool rows stay apart (head only).
   */
  private batchStep(data: LabeledData, idx: Int32Array, epoch: number, progress: Progress, rng: Rng): (StepResult & { size: number }) | null {
    if (data.x.isDisposed) throw new LongTailError('DISPOSED', 'expected data.x to stay alive while fit runs. Received: data.x disposed during fit', { name: 'data.x' });
    const pool = this.pool;
    const rows = splitBatch(idx, data, pool, this.dropSingleton);
    if (rows === null) return null;
    const { input, latent: synth, labels, flags } = rows;
    const dedicated = this.dedicated;
    if (dedicated !== null && synth.length === 0 && this.hostRows !== null && this.hostRows.source === data.x) {
      return { ...this.dedicatedOn(dedicated, { x: this.hostRows.values, rows: input, labels, learningRate: this.lr(progress) }, epoch), size: labels.length };
    }
    const latent = pool !== null && pool.space === 'latent';
    let x: tf.Tensor | null = input.length === 0 ? null : this.gatherInputs(data, input);
    const syn = latent && synth.length > 0 ? (tf.tidy(() => tf.gather((pool as SyntheticPool).features, tf.tensor1d(synth, 'int32'))) as tf.Tensor2D) : null;
    let raw: tf.Tensor | null = null;
    let targets: tf.Tensor2D | undefined;
    try {
      if (x !== null && this.config.augment !== undefined) {
        raw = x;
        const before = x;
        const out = tf.tidy(() => {
          const o = this.config.augment!({ x: before, labels: labels.subarray(0, input.length), rng });
          return o.targets === undefined ? { x: o.x } : { x: o.x, targets: o.targets };
        });
        x = out.x;
        targets = out.targets;
        if (this.stepViews.length === 0) {
          raw.dispose();
          raw = null;
        }
      }
      if (targets !== undefined && syn !== null) {
        throw new LongTailError('INVALID_OPTION', 'expected augment without soft targets when synthesis is on. Received: augment returned targets');
      }
      return { ...this.stepOn({ real: x, viewInput: raw ?? x, synthetic: syn, labels, targets, flags, rng }, epoch, progress), size: labels.length };
    } finally {
      x?.dispose();
      raw?.dispose();
      syn?.dispose();
      targets?.dispose();
    }
  }

  /** Rows of the training inputs and (indices ≥ n) of the input-space pool, as one new tensor. */
  private gatherInputs(data: LabeledData, rows: Int32Array): tf.Tensor {
    const n = data.y.length;
    const host = this.hostRows;
    let onlyReal = true;
    for (let i = 0; i < rows.length && onlyReal; i++) if ((rows[i] as number) >= n) onlyReal = false;
    if (onlyReal) {
      return host !== null && host.source === data.x ? gatherHostRows(host, rows) : tf.tidy(() => tf.gather(data.x, tf.tensor1d(rows, 'int32')));
    }
    return tf.tidy(() => gatherInputRows(data.x, (this.pool as SyntheticPool).features, rows, n));
  }

  private maybeSynthesize(data: LabeledData, epoch: number): void {
    const syn = this.config.synthesis;
    if (syn === undefined || !poolDue(syn, { epoch, hasPool: this.pool !== null, poolEpoch: this.poolEpoch })) return;
    const batchSize = this.config.evalBatchSize ?? 512;
    const drawn = drawPool(syn, {
      model: this.model,
      data,
      epoch,
      refresh: this.pool !== null,
      rng: this.root.fork(`synthesis:${epoch}`),
      embed: (x) => embedRows(this.model, x, batchSize),
    });
    this.rounds.push(drawn.round);
    this.setPool(drawn.pool, epoch);
  }

  private setPool(pool: SyntheticPool | null, epoch: number): void {
    this.pool?.features.dispose();
    this.pool = pool;
    this.poolEpoch = epoch;
  }

  logits(x: tf.Tensor, options?: PredictOptions): tf.Tensor2D {
    this.guard.check();
    const o = checkOptions('logits options', options, PREDICT_KEYS);
    if (!(x instanceof tf.Tensor) || x.isDisposed) throw invalid('INVALID_OPTION', 'x to be a live tf.Tensor', 'x', x instanceof tf.Tensor ? 'a disposed tensor' : typeof x);
    return evalLogits(this.model, x, { batchSize: o.batchSize ?? this.config.evalBatchSize ?? 512, ...(o.adjustLogits === undefined ? {} : { adjust: o.adjustLogits }) });
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
    let values: ArrayLike<number>;
    try {
      values = logits.dataSync();
    } finally {
      logits.dispose();
    }
    return argmaxLogits(values, logits.shape[1]);
  }

  private positionOf(live: LiveEpoch): EpochPosition {
    return {
      epoch: live.epoch,
      batch: live.batch,
      batches: live.batches.map((b) => Int32Array.from(b)),
      augmentRng: live.augmentRng.state(),
      sums: { loss: live.loss, seen: live.seen, terms: { ...live.terms }, counts: { ...live.counts } },
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
          : {
              epoch: this.poolEpoch,
              space: this.pool.space,
              shape: [...this.pool.features.shape],
              features: Float32Array.from(this.pool.features.dataSync()),
              labels: Int32Array.from(this.pool.labels),
            },
      position: this.live === null ? null : this.positionOf(this.live),
      synthesis: this.rounds.map(copyRound),
      lossStates: Object.fromEntries(this.lossStates.map((st) => [st.key, st.snapshot()])),
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
    const saved = state.lossStates ?? {};
    for (const key of Object.keys(saved)) {
      if (!this.lossStates.some((st) => st.key === key)) badLossState(key, this.lossStates);
    }
    // Each state validates its snapshot before assigning; the first failure leaves the trainer untouched
    // only if it is the first state, so all are checked by a dry restore into nothing first.
    for (const st of this.lossStates) checkLossSnapshot(st.key, saved[st.key] ?? null);
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
      state.pool === null
        ? null
        : { features: tf.tensor(state.pool.features, [...state.pool.shape]), labels: Int32Array.from(state.pool.labels), space: state.pool.space ?? 'latent' },
      state.pool?.epoch ?? -1,
    );
    this.rounds = (state.synthesis ?? []).map(copyRound);
    for (const st of this.lossStates) st.restore(saved[st.key] ?? null);
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
            counts: { ...(position.sums.counts ?? {}) },
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
    for (const st of this.lossStates) st.dispose();
    for (const o of this.owned) o.dispose();
  }
}


function badLossState(key: string, states: readonly LossState[]): never {
  throw invalid('INVALID_CHECKPOINT', `loss states among the loss's own (${states.map((s) => s.key).join(', ') || 'none'})`, 'lossStates key', key);
}

/** A loss-state snapshot is null or { json, arrays: { name: { shape, values } } } with matching sizes. */
function checkLossSnapshot(key: string, snap: LossStateSnapshot | null): void {
  if (snap === null) return;
  if (typeof snap !== 'object' || snap.arrays === null || typeof snap.arrays !== 'object') throw invalid('INVALID_CHECKPOINT', 'a loss state snapshot { json, arrays }', `lossStates.${key}`, snap);
  for (const [name, a] of Object.entries(snap.arrays)) {
    const size = Array.isArray(a?.shape) ? a.shape.reduce((p, d) => p * d, 1) : -1;
    if (!(a?.values instanceof Float32Array || a?.values instanceof Int32Array) || a.values.length !== size) {
      throw invalid('INVALID_CHECKPOINT', `values matching shape [${Array.isArray(a?.shape) ? a.shape.join(', ') : '?'}]`, `lossStates.${key}.arrays.${name}`, a?.values?.length);
    }
  }
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
