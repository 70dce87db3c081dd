/**
 * The Trainer: one typed training loop for every long-tail method. Models declare what they provide,
 * losses what they require; the trainer composes model, loss, sampler, optimizer, schedules, synthesis
 * and callbacks, and owns nothing but its optimizer slots and synthetic pool.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions } from '../core/options.js';
import { seededRng, restoreRng, type Rng } from '../core/rng.js';
import { DisposeGuard, valueAndGrads } from '../core/tensors.js';
import { checkLabels, checkRange, checkSameSize } from '../core/validate.js';
import { trainValidationSplit } from '../data/labeled-data.js';
import type { LabeledData } from '../data/types.js';
import { evaluateLoss } from '../losses/evaluate.js';
import type { Loss, LossContext, LossInputs, LossState, LossStateEncodeOptions, LossStateSnapshot, ViewForward } from '../losses/types.js';
import type { ForwardOutput, Model, Requirement } from '../models/types.js';
import { ClassStats } from '../data/class-stats.js';
import { ClassificationMetrics, type EvaluationReport } from '../metrics/report.js';
import { samplerFromConfig } from '../samplers/index.js';
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
  type SynthesisRound,
  type Trainer,
  type TrainerConfig,
  type ViewSpec,
} from './config.js';
import { optimizerFromConfig, DEFAULT_OPTIMIZER, type Optimizer } from './optimizers.js';
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
  SynthesisRound,
  Trainer,
  TrainerBaseConfig,
  TrainerConfig,
  ViewBatch,
  ViewSpec,
  ViewTransform,
} from './config.js';

/** One batch as the step sees it. */
interface StepBatch {
  /** The batch's input part (real rows, then input-space synthetic rows) after `augment`, or null. */
  readonly real: tf.Tensor | null;
  /** The input part before `augment`, which views transform (the same tensor when there is no `augment`). */
  readonly viewInput?: tf.Tensor | null;
  readonly synthetic: tf.Tensor2D | null;
  readonly labels: Int32Array;
  readonly targets: tf.Tensor2D | undefined;
  /** Per row of the input part, 1 for a synthetic sample. */
  readonly flags: Uint8Array;
  readonly rng: Rng;
}

/**
 * The synthetic pool: latent features [n, featureDim] that skip the backbone, or input-space samples
 * [n, ...inputShape] that go through it like real rows (flagged synthetic).
 */
interface SyntheticPool {
  readonly features: tf.Tensor;
  readonly labels: Int32Array;
  readonly space: 'latent' | 'input';
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
  private rounds: SynthesisRound[] = [];
  /** The states the loss owns (refreshed before every epoch, saved in checkpoints). */
  private readonly lossStates: readonly LossState[];
  /** Views a step computes: those the loss reads and the ones they derive from, in config order. */
  private readonly stepViews: readonly string[];
  /** A host copy of the training inputs while `fit` runs, when gathering batches from it is cheaper. */
  private hostRows: HostRows | null = null;

  constructor(config: TrainerConfig) {
    validateConfig(config);
    this.config = config;
    this.model = config.model;
    this.optimizer = optimizerFromConfig(config.optimizer ?? DEFAULT_OPTIMIZER);
    const schedule = config.learningRate ?? { kind: 'constant' };
    this.lr = typeof schedule === 'function' ? schedule : lrSchedule(schedule, this.optimizer.learningRate);
    this.sampler = isSampler(config.sampler) ? config.sampler : samplerFromConfig(config.sampler ?? { kind: 'instance' });
    this.variables = config.trainable ?? config.model.trainableVariables;
    const trainable = new Set(config.model.trainableVariables);
    this.stateVariables = config.model.variables.filter((v) => !trainable.has(v));
    const dropLast = config.dropLast ?? 'auto';
    this.dropSingleton = dropLast === 'singleton' || (dropLast === 'auto' && this.stateVariables.length > 0);
    this.root = seededRng(config.seed);
    if (config.classCounts !== undefined) this.counts = Float64Array.from(config.classCounts);
    this.initialWeights = weightsHash(config.model.variables);
    this.lossStates = config.loss?.states ?? [];
    this.stepViews = viewsNeeded(config.views ?? {}, Object.keys(config.loss?.views ?? {}));
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
    let keptCounts: Record<string, tf.Scalar> = {};
    let committed = false;
    try {
      const outcome = tf.tidy(() => {
        const labels = tf.tensor1d(batch.labels, 'int32');
        const { value, grads } = valueAndGrads(() => {
          const terms = this.termsOf(batch, labels, ctx);
          kept = terms.named;
          keptCounts = terms.counts;
          for (const t of [...Object.values(kept), ...Object.values(keptCounts)]) tf.keep(t);
          // A loss whose every part is switched off (weights 0) is a constant; + 0·w keeps it on the
          // tape (gradients 0 apart from weight decay) without changing its value.
          const anchor = this.variables[0];
          return anchor === undefined ? terms.total : (tf.add(terms.total, tf.mul(tf.sum(tf.slice(tf.reshape(anchor, [-1]), 0, 1)), 0)) as tf.Scalar);
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
      const counts: Record<string, number> = {};
      for (const [name, t] of Object.entries(keptCounts)) counts[name] = t.dataSync()[0] as number;
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
      return { loss: outcome.loss, terms, counts };
    } finally {
      // A failed step (non-finite, or an error anywhere in it) leaves batch-norm statistics as they were.
      if (!committed) this.stateVariables.forEach((v, i) => v.assign(saved[i] as tf.Tensor));
      for (const t of [...Object.values(kept), ...Object.values(keptCounts)]) t.dispose();
      saved.forEach((t) => t.dispose());
    }
  }

  /** Reduced, named loss terms of one batch and their sum (inside the gradient tape). */
  private termsOf(batch: StepBatch, labels: tf.Tensor1D, ctx: LossContext): { total: tf.Scalar; named: Record<string, tf.Scalar>; counts: Record<string, tf.Scalar> } {
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
      return { total: values.reduce((a, b) => tf.add(a, b)), named, counts: {} };
    }
    const l = loss as Loss;
    // A loss that reads views only needs no plain forward pass.
    const out = l.requires.length > 0 || this.stepViews.length === 0 ? forwardMixed(model, batch.real, batch.synthetic) : null;
    const views = this.stepViews.length === 0 ? undefined : this.viewForwards(batch);
    const synthetic = new Uint8Array(batch.labels.length);
    synthetic.set(batch.flags, 0);
    synthetic.fill(1, batch.flags.length);
    const inputs = {
      ...(out ?? {}),
      labels,
      labelValues: batch.labels,
      synthetic,
      ctx,
      ...(batch.targets === undefined ? {} : { targets: batch.targets }),
      ...(views === undefined ? {} : { views }),
    };
    const { total, terms, counts } = evaluateLoss(l, inputs as LossInputs);
    return { total, named: { ...terms }, counts: { ...counts } };
  }

  /** The views the loss reads, each through the model once (train mode), for the outputs it needs. */
  private viewForwards(batch: StepBatch): Record<string, ViewForward> {
    const x = batch.viewInput ?? batch.real;
    if (x === null) {
      throw new LongTailError('MISSING_INPUT', 'expected input rows for the views of this batch. Received: a batch of latent synthetic samples only (views need samples that go through the backbone; use synthesis.space "input")');
    }
    const rows = x.shape[0] ?? 0;
    const labelValues = batch.labels.subarray(0, rows);
    const made = computeViews(this.config.views ?? {}, this.stepViews, { x, labels: labelValues, rng: batch.rng });
    const labels = tf.tensor1d(labelValues, 'int32');
    const out: Record<string, ViewForward> = {};
    for (const [name, fields] of Object.entries((this.config.loss as Loss).views ?? {})) {
      const view = made[name] as { x: tf.Tensor; targets?: tf.Tensor2D };
      out[name] = {
        ...forwardFields(this.model, view.x, 'train', fields),
        ...(view.targets === undefined ? {} : { targets: view.targets }),
        labels,
        labelValues,
        synthetic: batch.flags,
      };
    }
    return out;
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
        encode: (options) => this.encodeRows(data, inputPool, options, rng),
      });
    }
  }

  /** Batched forward passes over rows of [data.x; input-space pool], optionally through views. */
  private encodeRows(data: LabeledData, inputPool: SyntheticPool | null, options: LossStateEncodeOptions, stateRng: Rng): tf.Tensor[] {
    const n = data.y.length;
    const total = n + (inputPool?.labels.length ?? 0);
    const rows = options.rows ?? Int32Array.from({ length: total }, (_, i) => i);
    const names = options.views ?? [];
    for (const name of names) {
      if (this.config.views?.[name] === undefined) throw invalid('MISSING_INPUT', `a view of the trainer's config (one of ${Object.keys(this.config.views ?? {}).join(', ') || 'none'})`, 'encode views', name);
    }
    const order = viewsNeeded(this.config.views ?? {}, names);
    const rng = options.rng ?? stateRng;
    const mode = options.mode ?? 'eval';
    const step = this.config.evalBatchSize ?? 512;
    if (rows.length === 0) throw invalid('INVALID_OPTION', 'at least one row to encode', 'rows.length', 0);
    const parts: tf.Tensor[][] = (names.length === 0 ? [''] : names).map(() => []);
    try {
      for (let start = 0; start < rows.length; start += step) {
        const chunk = rows.subarray(start, Math.min(rows.length, start + step));
        const outs = tf.tidy(() => {
          for (const r of chunk) if (!Number.isInteger(r) || r < 0 || r >= total) throw invalid('INVALID_OPTION', `encode rows in [0, ${total})`, 'rows', r);
          const x = gatherInputRows(data.x, inputPool?.features ?? null, chunk, n);
          const labels = Int32Array.from(chunk, (r) => (r < n ? (data.y[r] as number) : ((inputPool as SyntheticPool).labels[r - n] as number)));
          const made = names.length === 0 ? {} : computeViews(this.config.views ?? {}, order, { x, labels, rng });
          return (names.length === 0 ? [x] : names.map((name) => (made[name] as { x: tf.Tensor }).x)).map((xv) => {
            const f = forwardFields(this.model, xv, mode, [options.output])[options.output];
            if (f === undefined) throw new LongTailError('MISSING_INPUT', `expected model ${this.model.kind} to provide ${options.output}. Received: provides=[${this.model.provides.join(', ')}]`);
            return f as tf.Tensor;
          });
        });
        outs.forEach((t, v) => (parts[v] as tf.Tensor[]).push(t));
      }
      return parts.map((list) => tf.tidy(() => (list.length === 1 ? (list[0] as tf.Tensor).clone() : tf.concat(list, 0))));
    } finally {
      parts.forEach((list) => list.forEach((t) => t.dispose()));
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
    const n = data.y.length;
    const pool = this.pool;
    const latent = pool !== null && pool.space === 'latent';
    let inputCount = 0;
    for (let i = 0; i < idx.length; i++) if ((idx[i] as number) < n || !latent) inputCount++;
    const dropInput = inputCount === 1 && this.dropSingleton;
    // Input rows first (real, then input-space synthetic, in batch order), then latent rows.
    const input = new Int32Array(dropInput ? 0 : inputCount);
    const synth = new Int32Array(idx.length - inputCount);
    let r = 0;
    let s = 0;
    for (let i = 0; i < idx.length; i++) {
      const j = idx[i] as number;
      if (j >= n && latent) synth[s++] = j - n;
      else if (!dropInput) input[r++] = j;
    }
    const labels = new Int32Array(input.length + synth.length);
    if (labels.length === 0) return null;
    const labelOf = (j: number): number => (j < n ? (data.y[j] as number) : ((pool as SyntheticPool).labels[j - n] as number));
    for (let i = 0; i < input.length; i++) labels[i] = labelOf(input[i] as number);
    for (let i = 0; i < synth.length; i++) labels[input.length + i] = (pool as SyntheticPool).labels[synth[i] as number] as number;
    const flags = new Uint8Array(input.length);
    for (let i = 0; i < input.length; i++) {
      const j = input[i] as number;
      flags[i] = j >= n ? 1 : data.synthetic !== undefined ? (data.synthetic[j] as number) : 0;
    }
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
      return { ...this.runStep({ real: x, viewInput: raw ?? x, synthetic: syn, labels, targets, flags, rng }, epoch, progress), size: labels.length };
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
    if (syn === undefined) return;
    const start = syn.startEpoch ?? 0;
    if (epoch < start) return;
    const every = syn.refreshEvery ?? 0;
    const due = this.pool === null || (every > 0 && (epoch - start) % every === 0 && this.poolEpoch !== epoch);
    if (!due) return;
    const space = syn.space ?? 'latent';
    const rng = this.root.fork(`synthesis:${epoch}`);
    // A refresh re-observes features of the current model: earlier statistics must not accumulate.
    if (this.pool !== null) syn.synthesizer.reset?.();
    const n = data.y.length;
    const features =
      space === 'input' ? (tf.reshape(data.x, [n, -1]) as tf.Tensor2D) : syn.source === 'inputs' ? (data.x as tf.Tensor2D) : this.embed(data.x);
    try {
      if (space === 'latent') checkSameSize('synthesis features width = model.featureDim', this.model.featureDim, 'features.shape[1]', features.shape[1] ?? -1);
      const labels = tf.tensor1d(data.y, 'int32');
      try {
        syn.synthesizer.observe({ features, labels });
      } finally {
        labels.dispose();
      }
    } finally {
      if (features !== data.x) features.dispose();
    }
    const perClass = topUpRequest(syn.synthesizer.observedCounts(), syn.topUp ?? { kind: 'toMax' });
    const head = (f: tf.Tensor2D): tf.Tensor2D => this.model.head(f);
    const drawn = syn.synthesizer.sample({ perClass, ...(space === 'latent' ? { head } : {}), epoch }, rng);
    let labels: Int32Array;
    try {
      labels = Int32Array.from(drawn.labels.dataSync());
    } catch (e) {
      drawn.features.dispose();
      throw e;
    } finally {
      drawn.labels.dispose();
    }
    let pooled: tf.Tensor = drawn.features;
    if (space === 'input') {
      pooled = tf.reshape(drawn.features, [labels.length, ...data.x.shape.slice(1)]);
      drawn.features.dispose();
    }
    const accepted = new Array<number>(perClass.length).fill(0);
    for (const y of labels) accepted[y] = (accepted[y] ?? 0) + 1;
    const report = syn.synthesizer.lastReport;
    this.rounds.push({ epoch, space, requested: Array.from(perClass), accepted, ...(Array.isArray(report) ? { report: report.map((e) => ({ ...e })) } : {}) });
    this.setPool({ features: pooled, labels, space }, epoch);
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

/** The views to compute for the views `read`: those and every view they derive from, in config order. */
function viewsNeeded(specs: Readonly<Record<string, ViewSpec>>, read: readonly string[]): string[] {
  const needed = new Set<string>();
  const visit = (name: string): void => {
    if (needed.has(name)) return;
    needed.add(name);
    const spec = specs[name];
    if (spec !== undefined && typeof spec !== 'function' && spec.from !== undefined) visit(spec.from);
  };
  read.forEach(visit);
  return Object.keys(specs).filter((name) => needed.has(name));
}

/** Runs the view transforms in `order`, each on the batch's inputs or on its `from` view's inputs. */
function computeViews(specs: Readonly<Record<string, ViewSpec>>, order: readonly string[], batch: { x: tf.Tensor; labels: Int32Array; rng: Rng }): Record<string, { x: tf.Tensor; targets?: tf.Tensor2D }> {
  const made: Record<string, { x: tf.Tensor; targets?: tf.Tensor2D }> = {};
  for (const name of order) {
    const spec = specs[name] as ViewSpec;
    const transform = typeof spec === 'function' ? spec : spec.transform;
    const from = typeof spec === 'function' ? undefined : spec.from;
    const source = from === undefined ? batch.x : (made[from] as { x: tf.Tensor }).x;
    const out = transform({ x: source, labels: batch.labels, rng: batch.rng });
    if (out === null || typeof out !== 'object' || !(out.x instanceof tf.Tensor)) throw invalid('INVALID_OPTION', `view ${name} to return { x: Tensor, targets? }`, `views.${name} result`, out);
    made[name] = out.targets === undefined ? { x: out.x } : { x: out.x, targets: out.targets };
  }
  return made;
}

/** The model's outputs `fields` of `x`: through `forwardFields` when the model has it. */
function forwardFields(model: Model, x: tf.Tensor, mode: 'train' | 'eval', fields: readonly Requirement[]): Partial<ForwardOutput> {
  if (typeof model.forwardFields === 'function') return model.forwardFields(x, mode, fields);
  return model.forward(x, mode);
}

/** Rows of [x; pool] (indices ≥ n index the input-space pool) in the order of `rows`. Inside a tidy. */
function gatherInputRows(x: tf.Tensor, pool: tf.Tensor | null, rows: Int32Array, n: number): tf.Tensor {
  const source = pool === null ? x : tf.concat([x, pool], 0);
  return tf.gather(source, tf.tensor1d(rows, 'int32'));
}

function copyRound(r: SynthesisRound): SynthesisRound {
  return { epoch: r.epoch, space: r.space, requested: [...r.requested], accepted: [...r.accepted], ...(r.report === undefined ? {} : { report: r.report.map((e) => ({ ...e })) }) };
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
