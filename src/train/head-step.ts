/**
 * The dedicated training step of a linear head on precomputed (frozen) features: forward, mean softmax
 * cross-entropy, its gradient and the optimizer update in one call, with no gradient tape and no
 * per-step tfjs kernels for small heads. It is the same step as the generic one, with the same numbers
 * up to float32 rounding:
 *
 *   z = x·W + b,  L = (1/B)·Σ_i ℓ_i(z_i) (softmax cross-entropy, optional label smoothing and offsets),
 *   ∂L/∂W = xᵀ·(P − Q)/B,  ∂L/∂b = Σ_i (P − Q)_i / B,  then one update of the shared {@link Optimizer}.
 *
 * Two ways to compute it, chosen per head size (`mode: 'auto'`): `'host'` runs the whole step in
 * JavaScript over the memory behind the variables (cpu, wasm; the per-step cost of tfjs kernel calls is
 * gone, which is what small heads pay for), `'matmul'` keeps the two products on the backend's matmul
 * (XNNPACK on wasm) and does the rest on the host. See docs/benchmarks.md (bench:runs, bench:step).
 */
import * as tf from '@tensorflow/tfjs';
import { invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { DisposeGuard, type Disposable } from '../core/tensors.js';
import { checkRange } from '../core/validate.js';
import { hostMemory, type HostMemory } from '../backends/host-memory.js';
import { softmaxCrossEntropyRows } from '../backends/softmax-ce.js';
import { createGemmKernel, type GemmKernel } from '../core/wasm-gemm.js';
import type { Loss } from '../losses/types.js';
import type { Model } from '../models/types.js';
import { applyHostGradients, type Optimizer } from './optimizers.js';

/** How a {@link HeadStep} computes: in JavaScript on the host, or with the backend's matmul for the two products. */
export type HeadStepMode = 'host' | 'matmul';

/** Options of {@link createHeadStep}. */
export interface HeadStepOptions {
  /** The head's weights W [D, C] (trainable, float32). */
  readonly kernel: tf.Variable;
  /** The head's bias b [C], or null for a head without bias. */
  readonly bias: tf.Variable | null;
  /** The optimizer that owns the slots of `kernel` and `bias` (the trainer's, so checkpoints stay whole). */
  readonly optimizer: Optimizer;
  /** Label smoothing ε ∈ [0, 1). @defaultValue 0 */
  readonly labelSmoothing?: number;
  /** Per-class logit offsets o [C] added before the softmax (logit adjustment). */
  readonly offsets?: Float32Array;
  /**
   * `'auto'` (default): `'host'` while B·D·C ≤ {@link HOST_STEP_MAX_MACS}, else `'matmul'`.
   */
  readonly mode?: HeadStepMode | 'auto';
}

/** One batch for {@link HeadStep.step}. */
export interface HeadStepBatch {
  /**
   * Features, row-major float32: B rows of D values, or, with `rows`, the whole host matrix whose rows
   * `rows` form the batch (no copy).
   */
  readonly x: Float32Array;
  /** Row indices into `x` (optional). */
  readonly rows?: Int32Array;
  /** Labels [B] in [0, C) (not re-checked here: the caller checked them). */
  readonly labels: Int32Array;
  /** Learning rate of this step (after schedules). */
  readonly learningRate: number;
}

/**
 * What a step did. `bad` is −1 when the update was applied; otherwise nothing changed (no variable, slot
 * or optimizer step count) and `bad` is −2 for a non-finite loss or 0 / 1 for a non-finite gradient of
 * the kernel / the bias (the trainer's `NON_FINITE` conventions).
 */
export interface HeadStepResult {
  readonly loss: number;
  readonly bad: number;
}

/** A reusable step for one head; holds scratch buffers, no tensors. */
export interface HeadStep extends Disposable {
  /** The computation chosen for the head's size on the first step (`'auto'`) or fixed by the options. */
  readonly mode: HeadStepMode | 'auto';
  /** One training step on `batch`: forward, cross-entropy, gradient, optimizer update. */
  step(batch: HeadStepBatch): HeadStepResult;
}

/**
 * Above this many multiply-adds per product (B·D·C), `'auto'` uses the backend's matmul. Measured on
 * wasm, one step with batch 256: the host SIMD kernel takes a third of the matmul path's time for a
 * tabular head (16 → 26, 1.1e5), 40 % for 512 → 10 (1.3e6), and about the same for 512 → 100 (1.3e7),
 * where XNNPACK's blocked matmul wins as heads grow.
 */
export const HOST_STEP_MAX_MACS = 1 << 22;

const HEAD_STEP_KEYS: OptionKeys<HeadStepOptions> = { kernel: true, bias: true, optimizer: true, labelSmoothing: true, offsets: true, mode: true };

/**
 * Whether a model and loss can train through {@link createHeadStep}, and with which head: the model is a
 * classifier with no backbone (identity: its inputs are the features), a linear head whose variables are
 * all the trainable variables, and the loss is the plain softmax cross-entropy (`crossEntropyLoss`, mean
 * reducer, any label smoothing). Null otherwise. (The trainer must also check what the loss does not see:
 * no `objective`, `augment`, `synthesis`, and float32 inputs on cpu or wasm.)
 */
export function headStepPlan(model: Model, loss: Loss): { kernel: tf.Variable; bias: tf.Variable | null; labelSmoothing: number } | null {
  const m = model as unknown as { kind?: string; backbone?: { kind?: string; trainableVariables?: readonly tf.Variable[] }; classifierHead?: { kind?: string; kernel?: tf.Variable; bias?: tf.Variable | null } };
  if (m.kind !== 'classifier' || m.backbone?.kind !== 'identity' || m.classifierHead?.kind !== 'linear') return null;
  const { kernel, bias } = m.classifierHead;
  if (!(kernel instanceof tf.Variable) || kernel.shape.length !== 2 || !kernel.trainable) return null;
  const trainable = model.trainableVariables;
  const expected = bias ? [kernel, bias] : [kernel];
  if (trainable.length !== expected.length || trainable.some((v, i) => v !== expected[i])) return null;
  if (kernel.shape[1] !== (model.numTrainClasses ?? model.numClasses)) return null;
  if (loss.kind !== 'crossEntropy' || loss.reducer.kind !== 'mean' || loss.requires.some((r) => r !== 'logits')) return null;
  const labelSmoothing = Number((loss.config as { labelSmoothing?: unknown }).labelSmoothing ?? 0);
  if (!Number.isFinite(labelSmoothing)) return null;
  return { kernel, bias: bias ?? null, labelSmoothing };
}

/**
 * A dedicated step for a linear head on features (see the module comment for the formulas), or null on
 * backends without host memory (anything but cpu and wasm), where the generic step applies.
 *
 * @throws LongTailError `INVALID_OPTION` for unknown keys, a non-variable kernel or bias, shapes that do
 * not fit, or a label smoothing outside [0, 1).
 * @example
 * ```ts
 * const plan = headStepPlan(model, loss);
 * const head = plan && createHeadStep({ ...plan, optimizer });
 * const { loss: value, bad } = head.step({ x: features, rows: batchRows, labels, learningRate: 1e-3 });
 * ```
 */
export function createHeadStep(options: HeadStepOptions): HeadStep | null {
  checkOptions('createHeadStep options', options, HEAD_STEP_KEYS);
  const { kernel, bias, optimizer } = options;
  if (!(kernel instanceof tf.Variable) || kernel.shape.length !== 2 || kernel.dtype !== 'float32') {
    throw invalid('INVALID_OPTION', 'kernel to be a float32 tf.Variable of shape [D, C]', 'kernel', kernel instanceof tf.Tensor ? `shape [${kernel.shape.join(', ')}]` : typeof kernel);
  }
  const [d, c] = kernel.shape as [number, number];
  if (bias !== null && (!(bias instanceof tf.Variable) || bias.shape.length !== 1 || bias.shape[0] !== c || bias.dtype !== 'float32')) {
    throw invalid('INVALID_OPTION', `bias to be null or a float32 tf.Variable of shape [${c}]`, 'bias', bias instanceof tf.Tensor ? `shape [${bias.shape.join(', ')}]` : typeof bias);
  }
  if (optimizer === null || typeof optimizer !== 'object' || typeof optimizer.apply !== 'function') throw invalid('INVALID_OPTION', 'an Optimizer (createOptimizer)', 'optimizer', typeof optimizer);
  const labelSmoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  const offsets = options.offsets ?? null;
  if (offsets !== null && (!(offsets instanceof Float32Array) || offsets.length !== c)) {
    throw invalid('INVALID_OPTION', `offsets to be a Float32Array of length ${c}`, 'offsets.length', (offsets as { length?: unknown })?.length);
  }
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'host' && mode !== 'matmul') throw invalid('INVALID_OPTION', 'mode to be one of "auto", "host", "matmul"', 'mode', mode);
  const host = hostMemory();
  if (host === null) return null;
  return new HeadStepImpl(kernel, bias, optimizer, { d, c, labelSmoothing, offsets, mode }, host);
}

/** Byte addresses of the SIMD kernel's scratch matrices (see `simdBuffers`). */
interface SimdBuffers {
  readonly x: number;
  readonly w: number;
  readonly z: number;
  readonly g: number;
  readonly dw: number;
  readonly gc: number;
  readonly dwT: number;
}

class HeadStepImpl implements HeadStep {
  private readonly guard = new DisposeGuard('head step');
  private z = new Float32Array(0);
  private g = new Float32Array(0);
  private perSample = new Float32Array(0);
  private readonly dw64: Float64Array;
  private readonly dw: Float32Array;
  private readonly db: Float32Array;
  private readonly row: Float64Array;
  private readonly variables: tf.Variable[];
  /** The SIMD kernel (own memory) for host mode; null without WebAssembly SIMD. */
  private readonly gemm: GemmKernel | null;
  private readonly c4: number;
  private readonly d4: number;
  private simd: SimdBuffers | null = null;
  private simdRows = 0;

  constructor(
    private readonly kernel: tf.Variable,
    private readonly bias: tf.Variable | null,
    private readonly optimizer: Optimizer,
    private readonly shape: { d: number; c: number; labelSmoothing: number; offsets: Float32Array | null; mode: HeadStepMode | 'auto' },
    private readonly host: HostMemory,
  ) {
    this.dw64 = new Float64Array(shape.d * shape.c);
    this.dw = new Float32Array(shape.d * shape.c);
    this.db = new Float32Array(shape.c);
    this.row = new Float64Array(shape.c);
    this.variables = bias === null ? [kernel] : [kernel, bias];
    this.c4 = Math.ceil(shape.c / 4) * 4;
    this.d4 = Math.ceil(shape.d / 4) * 4;
    this.gemm = shape.mode === 'matmul' ? null : createGemmKernel();
  }

  get mode(): HeadStepMode | 'auto' {
    return this.shape.mode;
  }

  step(batch: HeadStepBatch): HeadStepResult {
    this.guard.check();
    const { d, c } = this.shape;
    const b = batch.rows?.length ?? batch.labels.length;
    if (batch.labels.length !== b || b === 0) throw invalid('SHAPE_MISMATCH', `labels.length = batch rows (${b}) > 0`, 'labels.length', batch.labels.length);
    if (batch.rows === undefined ? batch.x.length !== b * d : batch.x.length % d !== 0) {
      throw invalid('SHAPE_MISMATCH', `x with rows of ${d} features`, 'x.length', batch.x.length);
    }
    if (this.z.length < b * c) {
      this.z = new Float32Array(b * c);
      this.g = new Float32Array(b * c);
      this.perSample = new Float32Array(b);
    }
    const mode = this.shape.mode === 'auto' ? (b * d * c <= HOST_STEP_MAX_MACS ? 'host' : 'matmul') : this.shape.mode;
    return mode === 'host' ? this.hostStep(batch, b) : this.matmulStep(batch, b);
  }

  /** Softmax cross-entropy rows of `z` (float32 logits): loss mean and P − Q into `g`. */
  private lossAndLogitGrad(labels: Int32Array, b: number): number {
    const { c, labelSmoothing, offsets } = this.shape;
    softmaxCrossEntropyRows(this.z, labels, b, c, { offsets, labelSmoothing, weights: null }, this.perSample, this.g);
    let total = 0;
    for (let i = 0; i < b; i++) total += this.perSample[i] as number;
    return Math.fround(total / b);
  }

  private hostStep(batch: HeadStepBatch, b: number): HeadStepResult {
    const { c } = this.shape;
    const { dw, db } = this;
    // Variable views are read before the update allocates anything (wasm heap views go stale).
    const w = this.host.view(this.kernel);
    const bias = this.bias === null ? null : this.host.view(this.bias);
    const gemm = this.gemm;
    if (gemm !== null) this.simdForward(gemm, batch, b, w, bias);
    else this.jsForward(batch, b, w, bias);
    const loss = this.lossAndLogitGrad(batch.labels, b);
    if (gemm !== null) this.simdBackward(gemm, b);
    else this.jsBackward(batch, b);
    let sumW = 0;
    for (let t = 0; t < dw.length; t++) sumW += dw[t] as number;
    let sumB = 0;
    for (let j = 0; j < c; j++) sumB += db[j] as number;
    const bad = !Number.isFinite(loss) ? -2 : !Number.isFinite(sumW) ? 0 : this.bias !== null && !Number.isFinite(sumB) ? 1 : -1;
    if (bad !== -1) return { loss, bad };
    const grads = this.bias === null ? [dw] : [dw, db];
    if (!applyHostGradients(this.optimizer, this.variables, grads, batch.learningRate)) {
      tf.tidy(() => this.optimizer.apply(this.variables, grads.map((t, i) => tf.tensor(t, (this.variables[i] as tf.Variable).shape, 'float32')), batch.learningRate));
    }
    return { loss, bad };
  }

  /**
   * Scratch of the SIMD kernel for batches of up to `rows` rows (rows padded to whole f32x4 vectors:
   * D4 = 4·⌈D/4⌉, C4 = 4·⌈C/4⌉): X [rows, D4], W [D4, C4], Z and G [rows, C4], dW [D4, C4], and for the
   * transposed weight gradient G compact [rows, C] and dWᵀ [C, D4]. Zeroed when (re)allocated, so the
   * padding stays 0.
   */
  private simdBuffers(gemm: GemmKernel, rows: number): SimdBuffers {
    if (this.simd !== null && this.simdRows >= rows) return this.simd;
    const { c } = this.shape;
    const { c4, d4 } = this;
    gemm.reset();
    const sizes = { x: rows * d4, w: d4 * c4, z: rows * c4, g: rows * c4, dw: d4 * c4, gc: rows * c, dwT: c * d4 };
    const at = Object.fromEntries(Object.entries(sizes).map(([k, n]) => [k, gemm.alloc(n)])) as unknown as SimdBuffers;
    for (const [k, n] of Object.entries(sizes)) gemm.view(at[k as keyof SimdBuffers], n).fill(0);
    this.simd = at;
    this.simdRows = rows;
    return at;
  }

  /** z = x·W + b with the SIMD kernel. */
  private simdForward(gemm: GemmKernel, batch: HeadStepBatch, b: number, w: Float32Array, bias: Float32Array | null): void {
    const { d, c } = this.shape;
    const { c4, d4 } = this;
    const buf = this.simdBuffers(gemm, b);
    const xv = gemm.view(buf.x, b * d4);
    const { x, rows } = batch;
    for (let i = 0; i < b; i++) {
      const r = rows === undefined ? i : (rows[i] as number);
      xv.set(x.subarray(r * d, r * d + d), i * d4);
    }
    const wv = gemm.view(buf.w, d4 * c4);
    for (let k = 0; k < d; k++) wv.set(w.subarray(k * c, k * c + c), k * c4);
    const zv = gemm.view(buf.z, b * c4);
    if (bias !== null) for (let i = 0; i < b; i++) zv.set(bias, i * c4);
    else zv.fill(0);
    gemm.axpyGrid(buf.x, buf.w, buf.z, b, d4, c4 / 4, 0, c4 * 4, c4 * 4, 0);
    const z = this.z;
    for (let i = 0; i < b; i++) z.set(zv.subarray(i * c4, i * c4 + c), i * c);
  }

  /**
   * dW = xᵀ·(P − Q)/B and db = Σ_i (P − Q)_i/B with the SIMD kernel: row by row of dW (vectors along C)
   * when C ≥ D, or row by row of dWᵀ (vectors along D, far fewer kernel iterations for wide features and
   * few classes) when C < D.
   */
  private simdBackward(gemm: GemmKernel, b: number): void {
    const { d, c } = this.shape;
    const { c4, d4 } = this;
    const buf = this.simdBuffers(gemm, b);
    const inv = Math.fround(1 / b);
    const { g, db, dw } = this;
    const row = this.row;
    row.fill(0);
    for (let t = 0; t < b * c; t++) g[t] = Math.fround((g[t] as number) * inv);
    for (let i = 0; i < b; i++) for (let j = 0; j < c; j++) row[j] = (row[j] as number) + (g[i * c + j] as number);
    for (let j = 0; j < c; j++) db[j] = row[j] as number;
    if (c < d) {
      gemm.view(buf.gc, b * c).set(g.subarray(0, b * c));
      const dwTv = gemm.view(buf.dwT, c * d4);
      dwTv.fill(0);
      gemm.axpyGrid(buf.gc, buf.x, buf.dwT, b, c, d4 / 4, d4 * 4, 0, 0, d4 * 4);
      for (let j = 0; j < c; j++) for (let k = 0; k < d; k++) dw[k * c + j] = dwTv[j * d4 + k] as number;
      return;
    }
    const gv = gemm.view(buf.g, b * c4);
    for (let i = 0; i < b; i++) gv.set(g.subarray(i * c, i * c + c), i * c4);
    const dwv = gemm.view(buf.dw, d4 * c4);
    dwv.fill(0);
    gemm.axpyGrid(buf.x, buf.g, buf.dw, b, d4, c4 / 4, c4 * 4, 0, 0, c4 * 4);
    for (let k = 0; k < d; k++) dw.set(dwv.subarray(k * c4, k * c4 + c), k * c);
  }

  /** Plain-JavaScript z = x·W + b (float64 accumulation), where WebAssembly SIMD is unavailable. */
  private jsForward(batch: HeadStepBatch, b: number, w: Float32Array, bias: Float32Array | null): void {
    const { d, c } = this.shape;
    const { x, rows } = batch;
    const { z, row } = this;
    for (let i = 0; i < b; i++) {
      const base = (rows === undefined ? i : (rows[i] as number)) * d;
      if (bias === null) row.fill(0);
      else for (let j = 0; j < c; j++) row[j] = bias[j] as number;
      for (let k = 0; k < d; k++) {
        const a = x[base + k] as number;
        const wk = k * c;
        for (let j = 0; j < c; j++) row[j] = (row[j] as number) + a * (w[wk + j] as number);
      }
      for (let j = 0; j < c; j++) z[i * c + j] = row[j] as number;
    }
  }

  /** Plain-JavaScript dW and db (float64 accumulation). */
  private jsBackward(batch: HeadStepBatch, b: number): void {
    const { d, c } = this.shape;
    const { x, rows } = batch;
    const { g, dw64, dw, db, row } = this;
    const inv = 1 / b;
    dw64.fill(0);
    row.fill(0);
    for (let i = 0; i < b; i++) {
      const base = (rows === undefined ? i : (rows[i] as number)) * d;
      const gi = i * c;
      for (let j = 0; j < c; j++) row[j] = (row[j] as number) + (g[gi + j] as number);
      for (let k = 0; k < d; k++) {
        const a = x[base + k] as number;
        const wk = k * c;
        for (let j = 0; j < c; j++) dw64[wk + j] = (dw64[wk + j] as number) + a * (g[gi + j] as number);
      }
    }
    for (let t = 0; t < dw.length; t++) dw[t] = (dw64[t] as number) * inv;
    for (let j = 0; j < c; j++) db[j] = (row[j] as number) * inv;
  }

  private matmulStep(batch: HeadStepBatch, b: number): HeadStepResult {
    const { d, c } = this.shape;
    let xb: Float32Array;
    if (batch.rows === undefined) xb = batch.x;
    else {
      xb = new Float32Array(b * d);
      for (let i = 0; i < b; i++) {
        const r = batch.rows[i] as number;
        xb.set(batch.x.subarray(r * d, r * d + d), i * d);
      }
    }
    return tf.tidy(() => {
      const xt = tf.tensor2d(xb, [b, d]);
      const logits = this.bias === null ? tf.matMul(xt, this.kernel) : tf.add(tf.matMul(xt, this.kernel), this.bias);
      this.z.set(this.host.view(logits).subarray(0, b * c));
      const loss = this.lossAndLogitGrad(batch.labels, b);
      const inv = Math.fround(1 / b);
      const g = this.g.subarray(0, b * c);
      for (let t = 0; t < g.length; t++) g[t] = Math.fround((g[t] as number) * inv);
      const gt = tf.tensor2d(g, [b, c]);
      const dwT = tf.matMul(xt, gt, true, false);
      const dbT = tf.sum(gt, 0);
      const sums = this.host.view(tf.stack([tf.sum(dwT), tf.sum(dbT)]));
      const bad = !Number.isFinite(loss) ? -2 : !Number.isFinite(sums[0] as number) ? 0 : this.bias !== null && !Number.isFinite(sums[1] as number) ? 1 : -1;
      if (bad === -1) this.optimizer.apply(this.variables, this.bias === null ? [dwT] : [dwT, dbT], batch.learningRate);
      return { loss, bad };
    });
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.gemm?.reset();
    this.simd = null;
  }
}
