/**
 * One optimisation step: the plain forward pass and the views a loss reads, the loss through
 * `evaluateLoss`, gradients, one finiteness read-back and the update. Everything the step needs comes in
 * a {@link StepContext}; the trainer's loop (trainer.ts) owns the epoch and the step count.
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { valueAndGrads } from '../core/tensors.js';
import { evaluateLoss } from '../losses/evaluate.js';
import type { Loss, LossContext, LossInputs, ViewForward } from '../losses/types.js';
import type { ForwardOutput, Model, Requirement } from '../models/types.js';
import type { Objective, StepResult, ViewSpec } from './config.js';
import type { Optimizer } from './optimizers.js';
import type { Progress, Schedule } from './schedules.js';

/** One batch as the step sees it. */
export interface StepBatch {
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


/** What a step needs besides its batch: the model, the loss (or objective), views, variables, optimizer. */
export interface StepContext {
  readonly model: Model;
  readonly loss?: Loss | undefined;
  readonly objective?: Objective | undefined;
  readonly views: Readonly<Record<string, ViewSpec>>;
  /** Views to compute per step: the ones the loss reads and those they derive from, in config order. */
  readonly stepViews: readonly string[];
  /** The variables the optimizer updates. */
  readonly variables: readonly tf.Variable[];
  /** Model variables the optimizer does not update (batch-norm statistics): restored if a step fails. */
  readonly stateVariables: readonly tf.Variable[];
  readonly optimizer: Optimizer;
  readonly lr: Schedule;
  /** Named in a `NON_FINITE` error (the last good checkpoint). */
  readonly checkpointPath?: string | undefined;
}

/** Where the step runs: epoch, global step, progress for the schedule, the loss context. */
export interface StepAt {
  readonly epoch: number;
  readonly step: number;
  readonly progress: Progress;
  readonly ctx: LossContext;
}

/**
 * The `NON_FINITE` error of a step that was not applied: `bad` is −2 for a non-finite loss, else the index
 * (in `variables`) of the first variable with a non-finite gradient. Shared by the generic step and the
 * dedicated head step (train/head-step.ts), which report failures the same way.
 */
export function nonFiniteStep(f: {
  readonly loss: number;
  readonly bad: number;
  readonly variables: readonly tf.Variable[];
  readonly epoch: number;
  readonly step: number;
  readonly checkpointPath?: string | undefined;
}): LongTailError {
  const v = f.bad >= 0 ? f.variables[f.bad] : undefined;
  const where = v === undefined ? `loss=${f.loss}` : `a non-finite gradient of variable ${f.bad} (${v.name}, shape [${v.shape.join(', ')}]) with loss=${f.loss}`;
  return new LongTailError('NON_FINITE', `expected a finite loss and gradients. Received: ${where} at epoch ${f.epoch} step ${f.step}; weights were not updated`, {
    epoch: f.epoch,
    step: f.step,
    ...(f.bad >= 0 ? { variable: f.bad } : {}),
    ...(f.checkpointPath === undefined ? {} : { lastCheckpoint: f.checkpointPath }),
  });
}

/**
 * The synchronous heart: forward, loss, gradients, one finiteness check of the loss and every gradient,
 * update. Nothing non-finite reaches a variable: on failure the batch-norm statistics the forward pass
 * moved are put back and `NON_FINITE` names the first bad gradient.
 */
export function runStep(c: StepContext, batch: StepBatch, at: StepAt): StepResult {
  const { epoch, progress, ctx } = at;
  const saved = c.stateVariables.map((v) => tf.clone(v));
  let kept: Record<string, tf.Scalar> = {};
  let keptCounts: Record<string, tf.Scalar> = {};
  let committed = false;
  try {
    const outcome = tf.tidy(() => {
      const labels = tf.tensor1d(batch.labels, 'int32');
      const { value, grads } = valueAndGrads(() => {
        const terms = termsOf(c, batch, labels, ctx);
        kept = terms.named;
        keptCounts = terms.counts;
        for (const t of [...Object.values(kept), ...Object.values(keptCounts)]) tf.keep(t);
        // A loss whose every part is switched off (weights 0) is a constant; + 0·w keeps it on the
        // tape (gradients 0 apart from weight decay) without changing its value.
        const anchor = c.variables[0];
        return anchor === undefined ? terms.total : (tf.add(terms.total, tf.mul(tf.sum(tf.slice(tf.reshape(anchor, [-1]), 0, 1)), 0)) as tf.Scalar);
      }, c.variables);
      // One read for the loss and a finiteness probe per gradient: a sum is non-finite iff an entry is.
      const probes = grads.map((g) => (g === null ? tf.scalar(0) : tf.sum(g)));
      const read = tf.concat([tf.reshape(value, [1]), ...probes.map((p) => tf.reshape(p, [1]))]).dataSync();
      const loss = read[0] as number;
      let bad = Number.isFinite(loss) ? -1 : -2;
      for (let i = 0; i < grads.length && bad === -1; i++) if (!Number.isFinite(read[i + 1] as number)) bad = i;
      if (bad !== -1) return { loss, bad };
      const gradList = grads.map((g, i) => g ?? tf.zerosLike(c.variables[i] as tf.Variable));
      c.optimizer.apply(c.variables, gradList, c.lr(progress));
      return { loss, bad };
    });
    const terms: Record<string, number> = {};
    for (const [name, t] of Object.entries(kept)) terms[name] = t.dataSync()[0] as number;
    const counts: Record<string, number> = {};
    for (const [name, t] of Object.entries(keptCounts)) counts[name] = t.dataSync()[0] as number;
    if (outcome.bad !== -1) throw nonFiniteStep({ ...outcome, variables: c.variables, epoch, step: at.step, checkpointPath: c.checkpointPath });
    committed = true;
    return { loss: outcome.loss, terms, counts };
  } finally {
    // A failed step (non-finite, or an error anywhere in it) leaves batch-norm statistics as they were.
    if (!committed) c.stateVariables.forEach((v, i) => v.assign(saved[i] as tf.Tensor));
    for (const t of [...Object.values(kept), ...Object.values(keptCounts)]) t.dispose();
    saved.forEach((t) => t.dispose());
  }
}

/** Reduced, named loss terms of one batch and their sum (inside the gradient tape). */
function termsOf(c: StepContext, batch: StepBatch, labels: tf.Tensor1D, ctx: LossContext): { total: tf.Scalar; named: Record<string, tf.Scalar>; counts: Record<string, tf.Scalar> } {
  const { model, loss, objective } = c;
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
  const out = l.requires.length > 0 || c.stepViews.length === 0 ? forwardMixed(model, batch.real, batch.synthetic) : null;
  const views = c.stepViews.length === 0 ? undefined : viewForwards(c, batch);
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
function viewForwards(c: StepContext, batch: StepBatch): Record<string, ViewForward> {
  const x = batch.viewInput ?? batch.real;
  if (x === null) {
    throw new LongTailError('MISSING_INPUT', 'expected input rows for the views of this batch. Received: a batch of latent synthetic samples only (views need samples that go through the backbone; use synthesis.space "input")');
  }
  const rows = x.shape[0] ?? 0;
  const labelValues = batch.labels.subarray(0, rows);
  const made = computeViews(c.views ?? {}, c.stepViews, { x, labels: labelValues, rng: batch.rng });
  const labels = tf.tensor1d(labelValues, 'int32');
  const out: Record<string, ViewForward> = {};
  for (const [name, fields] of Object.entries((c.loss as Loss).views ?? {})) {
    const view = made[name] as { x: tf.Tensor; targets?: tf.Tensor2D };
    out[name] = {
      ...forwardFields(c.model, view.x, 'train', fields),
      ...(view.targets === undefined ? {} : { targets: view.targets }),
      labels,
      labelValues,
      synthetic: batch.flags,
    };
  }
  return out;
}

/** The views to compute for the views `read`: those and every view they derive from, in config order. */
export function viewsNeeded(specs: Readonly<Record<string, ViewSpec>>, read: readonly string[]): string[] {
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
export function computeViews(specs: Readonly<Record<string, ViewSpec>>, order: readonly string[], batch: { x: tf.Tensor; labels: Int32Array; rng: Rng }): Record<string, { x: tf.Tensor; targets?: tf.Tensor2D }> {
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
export function forwardFields(model: Model, x: tf.Tensor, mode: 'train' | 'eval', fields: readonly Requirement[]): Partial<ForwardOutput> {
  if (typeof model.forwardFields === 'function') return model.forwardFields(x, mode, fields);
  return model.forward(x, mode);
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
