/**
 * Optimizers with PyTorch semantics, written on tfjs ops so that weight decay, learning-rate schedules
 * and checkpointed slots behave exactly as in the reference training scripts (tfjs's own optimizers have
 * no weight decay and cache the learning rate).
 */
import * as tf from '@tensorflow/tfjs';
import { invalid } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { checkSpec } from '../core/options.js';
import type { Disposable } from '../core/tensors.js';
import { OPTIMIZER_SPEC_KEYS } from './spec-keys.js';
import { DisposeGuard } from '../core/tensors.js';
import { checkNonNegative, checkPositive, checkRange } from '../core/validate.js';
import { hostMemory } from '../backends/host-memory.js';

/**
 * Optimizer options (string-literal tagged):
 * - `sgd`: v ← μ·v + (g + λ·p); p ← p − lr·v (PyTorch `SGD`, dampening 0; `nesterov` uses g + μ·v).
 * - `adam`: L2 weight decay added to the gradient (PyTorch `Adam(weight_decay=λ)`), bias-corrected moments.
 * - `adamw`: decoupled weight decay p ← p − lr·λ·p before the Adam update (Loshchilov & Hutter 2019).
 */
export type OptimizerSpec =
  | {
      readonly kind: 'sgd';
      readonly learningRate: number;
      readonly momentum?: number;
      readonly weightDecay?: number;
      readonly nesterov?: boolean;
    }
  | {
      readonly kind: 'adam' | 'adamw';
      readonly learningRate: number;
      readonly beta1?: number;
      readonly beta2?: number;
      readonly epsilon?: number;
      readonly weightDecay?: number;
    };

/**
 * The one default optimizer of the trainer and of every recipe except `decoupled` (which follows its
 * paper's SGD): Adam, learning rate 1e-3, L2 weight decay 5e-4 added to the gradient (PyTorch
 * `Adam(lr=1e-3, weight_decay=5e-4)`, the reference protocol of the benchmarks), so default runs of a
 * baseline and of a method are comparable.
 */
export const DEFAULT_OPTIMIZER: OptimizerSpec = Object.freeze({ kind: 'adam', learningRate: 1e-3, weightDecay: 5e-4 });

/** A stateful optimizer over an explicit variable list. */
export interface Optimizer extends Disposable {
  readonly kind: OptimizerSpec['kind'];
  readonly config: JsonObject;
  /** Base learning rate from the spec; schedules multiply or replace it per step. */
  readonly learningRate: number;
  /** Applies one update. `grads[i]` belongs to `variables[i]`; grads are not disposed. */
  apply(variables: readonly tf.Variable[], grads: readonly tf.Tensor[], learningRate: number): void;
  /** Slot values (momentum, moments) of `variables` and the step counter, as plain arrays, for checkpoints. */
  saveState(variables: readonly tf.Variable[]): OptimizerState;
  /**
   * Checks, without changing anything, that `state` fits this optimizer and `variables` (slot count,
   * shapes, value counts, step). Throws `INVALID_CHECKPOINT` naming the first mismatch.
   */
  checkState(state: OptimizerState, variables: readonly tf.Variable[]): void;
  /** Restores slots saved by `saveState` for the same variable list (after {@link Optimizer.checkState}). */
  loadState(state: OptimizerState, variables: readonly tf.Variable[]): void;
}

/** Serialisable optimizer state: step count and slot values (flat float32 arrays, in variable order). */
export interface OptimizerState {
  readonly step: number;
  readonly slots: readonly { readonly name: string; readonly shape: readonly number[]; readonly values: Float32Array }[];
}

/**
 * Validates a spec and returns a fresh optimizer. A key the spec's kind does not take is `UNKNOWN_OPTION`
 * (`expected optimizer { kind: "adam" } to be among kind, learningRate, … Received: weightDecy (did you mean weightDecay?)`).
 */
export function optimizerFromConfig(spec: OptimizerSpec): Optimizer {
  const checked = checkOptimizerSpec(spec);
  if (checked.kind === 'sgd') return new SlotOptimizer(checked, (checked.momentum ?? 0) > 0 ? ['momentum'] : [], sgdUpdate(checked), sgdHostUpdate(checked));
  return new SlotOptimizer(checked, ['m', 'v'], adamUpdate(checked), adamHostUpdate(checked));
}

/**
 * Validates an optimizer spec without building anything: the keys of its kind (`UNKNOWN_OPTION`), a
 * positive learning rate, weight decay ≥ 0, momentum and betas in [0, 1), ε > 0 (`INVALID_OPTION`).
 * {@link optimizerFromConfig} runs it first; recipes run it to fail before their model exists. Returns `spec`.
 */
export function checkOptimizerSpec(spec: OptimizerSpec, name = 'optimizer'): OptimizerSpec {
  if (spec === null || typeof spec !== 'object') throw invalid('INVALID_OPTION', 'an optimizer spec object', name, spec);
  checkSpec(name, spec, OPTIMIZER_SPEC_KEYS);
  checkPositive('learningRate', spec.learningRate);
  checkNonNegative('weightDecay', spec.weightDecay ?? 0);
  if (spec.kind === 'sgd') {
    checkRange('momentum', spec.momentum ?? 0, { min: 0, max: 1, maxExclusive: true });
    return spec;
  }
  if (spec.kind === 'adam' || spec.kind === 'adamw') {
    checkRange('beta1', spec.beta1 ?? 0.9, { min: 0, max: 1, maxExclusive: true });
    checkRange('beta2', spec.beta2 ?? 0.999, { min: 0, max: 1, maxExclusive: true });
    checkPositive('epsilon', spec.epsilon ?? 1e-8);
    return spec;
  }
  throw invalid('INVALID_OPTION', `optimizer kind to be one of "sgd", "adam", "adamw"`, 'kind', (spec as { kind: unknown }).kind);
}

/** One variable's update: returns the new parameter value and new slot values (inside tidy). */
type UpdateRule = (p: tf.Tensor, g: tf.Tensor, slots: readonly tf.Tensor[], lr: number, step: number) => tf.Tensor[];

function sgdUpdate(spec: Extract<OptimizerSpec, { kind: 'sgd' }>): UpdateRule {
  const mu = spec.momentum ?? 0;
  const wd = spec.weightDecay ?? 0;
  const nesterov = spec.nesterov ?? false;
  return (p, g, [v], lr, step) => {
    const grad = wd > 0 ? tf.add(g, tf.mul(p, wd)) : g;
    if (mu === 0) return [tf.sub(p, tf.mul(grad, lr))];
    // PyTorch initialises the buffer with the first gradient rather than decaying zeros.
    const buf = step === 1 ? grad : tf.add(tf.mul(v as tf.Tensor, mu), grad);
    const dir = nesterov ? tf.add(grad, tf.mul(buf, mu)) : buf;
    return [tf.sub(p, tf.mul(dir, lr)), buf];
  };
}

function adamUpdate(spec: Extract<OptimizerSpec, { kind: 'adam' | 'adamw' }>): UpdateRule {
  const b1 = spec.beta1 ?? 0.9;
  const b2 = spec.beta2 ?? 0.999;
  const eps = spec.epsilon ?? 1e-8;
  const wd = spec.weightDecay ?? 0;
  const decoupled = spec.kind === 'adamw';
  return (p, g, [m, v], lr, step) => {
    const base = decoupled && wd > 0 ? tf.mul(p, 1 - lr * wd) : p;
    const grad = !decoupled && wd > 0 ? tf.add(g, tf.mul(p, wd)) : g;
    const m1 = tf.add(tf.mul(m as tf.Tensor, b1), tf.mul(grad, 1 - b1));
    const v1 = tf.add(tf.mul(v as tf.Tensor, b2), tf.mul(tf.square(grad), 1 - b2));
    const c1 = 1 - Math.pow(b1, step);
    const c2 = 1 - Math.pow(b2, step);
    // PyTorch: p -= lr/c1 · m / (sqrt(v)/sqrt(c2) + eps)
    const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(c2)), eps);
    return [tf.sub(base, tf.mul(tf.div(m1, denom), lr / c1)), m1, v1];
  };
}

/**
 * The same update as an {@link UpdateRule}, in place over host memory: `p` and `slots` are overwritten,
 * `g` is read. Every tfjs op of the rule is one float32 operation here (`Math.fround` after each, its
 * scalar operands rounded to float32 as tfjs does), so both paths give the same bits.
 */
type HostUpdateRule = (p: Float32Array, g: Float32Array, slots: readonly Float32Array[], lr: number, step: number) => void;

const f32 = Math.fround;

/**
 * Variables above this many values are updated with tfjs ops even on cpu/wasm: the wasm backend's
 * vectorised element-wise kernels overtake one scalar JavaScript pass (measured by bench:step: 51,300
 * Adam values take 0.33 ms in ops and 1.3 ms in JavaScript; a few thousand take 0.02 ms in JavaScript
 * against ~0.1 ms of per-op overhead).
 */
const HOST_UPDATE_MAX_SIZE = 8192;

/** Whether {@link Optimizer.apply} may use the fused host update (internal switch for tests and benches). */
let hostUpdates = true;

/**
 * Turns the fused host update on or off (internal: tests compare both paths, benches time both);
 * returns the previous setting.
 */
export function setHostUpdates(on: boolean): boolean {
  const previous = hostUpdates;
  hostUpdates = on;
  return previous;
}

function sgdHostUpdate(spec: Extract<OptimizerSpec, { kind: 'sgd' }>): HostUpdateRule {
  const mu = f32(spec.momentum ?? 0);
  const wd = f32(spec.weightDecay ?? 0);
  const nesterov = spec.nesterov ?? false;
  return (p, g, [v], lr, step) => {
    const lr32 = f32(lr);
    const n = p.length;
    for (let i = 0; i < n; i++) {
      const pi = p[i] as number;
      const grad = wd > 0 ? f32((g[i] as number) + f32(pi * wd)) : (g[i] as number);
      if (mu === 0) {
        p[i] = f32(pi - f32(grad * lr32));
        continue;
      }
      const buf = step === 1 ? grad : f32(f32((v as Float32Array)[i] as number * mu) + grad);
      const dir = nesterov ? f32(grad + f32(buf * mu)) : buf;
      p[i] = f32(pi - f32(dir * lr32));
      (v as Float32Array)[i] = buf;
    }
  };
}

function adamHostUpdate(spec: Extract<OptimizerSpec, { kind: 'adam' | 'adamw' }>): HostUpdateRule {
  const b1 = spec.beta1 ?? 0.9;
  const b2 = spec.beta2 ?? 0.999;
  const [b1f, b2f, ob1, ob2] = [f32(b1), f32(b2), f32(1 - b1), f32(1 - b2)];
  const eps = f32(spec.epsilon ?? 1e-8);
  const wdRaw = spec.weightDecay ?? 0;
  const wd = f32(wdRaw);
  const decoupled = spec.kind === 'adamw';
  return (p, g, [m, v], lr, step) => {
    const mm = m as Float32Array;
    const vv = v as Float32Array;
    const decay = f32(1 - lr * wdRaw);
    const sc2 = f32(Math.sqrt(1 - Math.pow(b2, step)));
    const scale = f32(lr / (1 - Math.pow(b1, step)));
    const decayBase = decoupled && wdRaw > 0;
    const l2 = !decoupled && wdRaw > 0;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      const pi = p[i] as number;
      const base = decayBase ? f32(pi * decay) : pi;
      const grad = l2 ? f32((g[i] as number) + f32(pi * wd)) : (g[i] as number);
      const m1 = f32(f32((mm[i] as number) * b1f) + f32(grad * ob1));
      const v1 = f32(f32((vv[i] as number) * b2f) + f32(f32(grad * grad) * ob2));
      const denom = f32(f32(f32(Math.sqrt(v1)) / sc2) + eps);
      p[i] = f32(base - f32(f32(m1 / denom) * scale));
      mm[i] = m1;
      vv[i] = v1;
    }
  };
}

/**
 * One update of `optimizer` (made by {@link optimizerFromConfig}) from gradients already on the host
 * (`grads[i]` float32, `variables[i].size` values): the fused host update, without uploading them.
 * Returns false, having changed nothing, where the fused update is unavailable (backend other than
 * cpu/wasm, another optimizer implementation, host updates switched off); callers then upload the
 * gradients and call `apply`.
 */
export function applyHostGradients(optimizer: Optimizer, variables: readonly tf.Variable[], grads: readonly Float32Array[], learningRate: number): boolean {
  return optimizer instanceof SlotOptimizer && optimizer.applyHostGradients(variables, grads, learningRate);
}

class SlotOptimizer implements Optimizer {
  readonly kind: OptimizerSpec['kind'];
  readonly config: JsonObject;
  readonly learningRate: number;
  private readonly slots = new Map<tf.Variable, tf.Variable[]>();
  private steps = 0;
  private readonly guard = new DisposeGuard('optimizer');

  constructor(
    spec: OptimizerSpec,
    private readonly slotNames: readonly string[],
    private readonly rule: UpdateRule,
    private readonly hostRule: HostUpdateRule,
  ) {
    this.kind = spec.kind;
    this.config = JSON.parse(JSON.stringify(spec)) as JsonObject;
    this.learningRate = spec.learningRate;
  }

  private slotsFor(variable: tf.Variable): tf.Variable[] {
    let s = this.slots.get(variable);
    if (s === undefined) {
      s = this.slotNames.map(() => tf.tidy(() => tf.variable(tf.zerosLike(variable), false)));
      this.slots.set(variable, s);
    }
    return s;
  }

  apply(variables: readonly tf.Variable[], grads: readonly tf.Tensor[], learningRate: number): void {
    this.guard.check();
    this.steps += 1;
    const step = this.steps;
    if (this.applyOnHost(variables, grads, learningRate, step)) return;
    variables.forEach((variable, i) => this.opUpdate(variable, grads[i], learningRate, step));
  }

  /** One variable's update with tfjs ops (host gradients are uploaded first). */
  private opUpdate(variable: tf.Variable, g: tf.Tensor | Float32Array | undefined, learningRate: number, step: number): void {
    if (g === undefined) return;
    const slots = this.slotsFor(variable);
    tf.tidy(() => {
      const grad = g instanceof Float32Array ? tf.tensor(g, variable.shape, 'float32') : g;
      const [next, ...nextSlots] = this.rule(variable, grad, slots, learningRate, step);
      variable.assign(next as tf.Tensor);
      slots.forEach((s, k) => s.assign(nextSlots[k] as tf.Tensor));
    });
  }

  /**
   * The fused update: on cpu and wasm, one JavaScript pass per variable over the memory behind the
   * variable, its gradient and its slots (in place; same bits as the op path). False (nothing done) on
   * other backends or for non-float32 tensors, where {@link SlotOptimizer.apply} runs the ops.
   */
  private applyOnHost(variables: readonly tf.Variable[], grads: readonly (tf.Tensor | Float32Array)[], learningRate: number, step: number): boolean {
    const host = hostUpdates ? hostMemory() : null;
    if (host === null) return false;
    for (let i = 0; i < variables.length; i++) {
      const g = grads[i];
      const v = variables[i] as tf.Variable;
      if (v.dtype !== 'float32' || v.isDisposed) return false;
      if (g instanceof Float32Array ? g.length !== v.size : g !== undefined && (g.dtype !== 'float32' || g.size !== v.size || g.isDisposed)) return false;
    }
    // Allocations first (large variables' op updates, slots, private copies); wasm heap views are taken
    // only after the last one.
    const work: { v: tf.Variable; g: tf.Tensor | Float32Array; slots: tf.Variable[] }[] = [];
    variables.forEach((v, i) => {
      const g = grads[i];
      if (g === undefined) return;
      if (v.size > HOST_UPDATE_MAX_SIZE) {
        this.opUpdate(v, g, learningRate, step);
        return;
      }
      const slots = this.slotsFor(v);
      host.own(v);
      slots.forEach((s) => host.own(s));
      work.push({ v, g, slots });
    });
    for (const { v, g, slots } of work) {
      this.hostRule(host.view(v), g instanceof Float32Array ? g : host.view(g), slots.map((s) => host.view(s)), learningRate, step);
    }
    for (const { v, slots } of work) {
      host.written(v);
      slots.forEach((s) => host.written(s));
    }
    return true;
  }

  /** {@link applyHostGradients} for this optimizer. */
  applyHostGradients(variables: readonly tf.Variable[], grads: readonly Float32Array[], learningRate: number): boolean {
    this.guard.check();
    if (!this.applyOnHost(variables, grads, learningRate, this.steps + 1)) return false;
    this.steps += 1;
    return true;
  }

  saveState(variables: readonly tf.Variable[]): OptimizerState {
    this.guard.check();
    const slots = variables.flatMap((variable) =>
      this.slotsFor(variable).map((s, k) => ({
        name: `${variable.name}/${this.slotNames[k] ?? k}`,
        shape: [...s.shape],
        values: Float32Array.from(s.dataSync() as Float32Array),
      })),
    );
    return { step: this.steps, slots };
  }

  checkState(state: OptimizerState, variables: readonly tf.Variable[]): void {
    this.guard.check();
    const bad = (what: string, name: string, value: unknown): never => {
      throw invalid('INVALID_CHECKPOINT', `${what} (optimizer ${this.kind})`, name, value);
    };
    if (state === null || typeof state !== 'object' || !Array.isArray(state.slots)) bad('optimizer state { step, slots }', 'optimizer', state);
    if (!Number.isInteger(state.step) || state.step < 0) bad('optimizer.step to be an integer >= 0', 'optimizer.step', state.step);
    const expected = variables.flatMap((variable) => this.slotNames.map((slot) => ({ variable, slot })));
    if (state.slots.length !== expected.length) {
      bad(`${expected.length} optimizer slots (${this.slotNames.length} per trainable variable)`, 'optimizer.slots.length', state.slots.length);
    }
    expected.forEach(({ variable, slot }, k) => {
      const saved = state.slots[k];
      const shape = saved?.shape;
      if (!Array.isArray(shape) || shape.length !== variable.shape.length || shape.some((d, i) => d !== variable.shape[i])) {
        bad(`optimizer slot ${k} (${slot}) of shape [${variable.shape.join(', ')}]`, `optimizer.slots[${k}].shape`, shape);
      }
      if (!(saved?.values instanceof Float32Array) || saved.values.length !== variable.size) {
        bad(`optimizer slot ${k} with ${variable.size} float32 values`, `optimizer.slots[${k}].values.length`, saved?.values?.length);
      }
    });
  }

  loadState(state: OptimizerState, variables: readonly tf.Variable[]): void {
    this.guard.check();
    this.checkState(state, variables);
    let k = 0;
    const targets = variables.flatMap((variable) => this.slotsFor(variable));
    if (targets.length !== state.slots.length) {
      throw invalid('SHAPE_MISMATCH', `${targets.length} optimizer slots`, 'state.slots.length', state.slots.length);
    }
    for (const s of targets) {
      const saved = state.slots[k++];
      if (saved === undefined || saved.values.length !== s.size) {
        throw invalid('SHAPE_MISMATCH', `optimizer slot of size ${s.size}`, 'slot', saved?.name ?? 'missing');
      }
      tf.tidy(() => s.assign(tf.tensor(saved.values, s.shape, 'float32')));
    }
    this.steps = state.step;
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    for (const slot of this.slots.values()) slot.forEach((s) => s.dispose());
    this.slots.clear();
  }
}
