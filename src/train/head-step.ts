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
   * `'auto'` (default): `'host'` while the step's products stay small (B·D·C ≤ {@link HOST_STEP_MAX_MACS}
   * for a head; Σ_l B·in_l·out_l ≤ {@link HOST_STACK_MAX_MACS} with `hidden` layers), else `'matmul'`.
   */
  readonly mode?: HeadStepMode | 'auto';
  /**
   * Dense layers before the head, in order, each followed by ReLU (an `mlpBackbone` without dropout and
   * batch norm): h_{l+1} = ReLU(h_l·W_l + b_l). Default none (a head on features). Needs WebAssembly SIMD.
   */
  readonly hidden?: readonly DenseLayer[];
}

/** One dense layer's variables: W [in, out] and b [out] (or null). */
export interface DenseLayer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
}

/** What {@link headStepPlan} found: the head, the hidden ReLU layers before it, the loss's label smoothing. */
export interface HeadStepPlan {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly hidden: readonly DenseLayer[];
  readonly labelSmoothing: number;
}

/**
 * Largest in·out of a hidden layer {@link headStepPlan} accepts: at batch 256 its products stay within
 * {@link HOST_STEP_MAX_MACS}, where the SIMD kernel beats XNNPACK plus the tape (the Fashion-MNIST MLP,
 * 784·256, stays on the generic path).
 */
export const HIDDEN_STEP_MAX_WEIGHTS = 16384;

/**
 * Above this many multiply-adds per step (all forward products), `'auto'` runs a dense stack's products
 * on the backend's matmul: the SIMD kernel's simple loops reach about a third of XNNPACK's speed, which
 * only the saved kernel launches make up for on the smallest MLPs.
 */
export const HOST_STACK_MAX_MACS = 1 << 19;

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

const HEAD_STEP_KEYS: OptionKeys<HeadStepOptions> = { kernel: true, bias: true, optimizer: true, labelSmoothing: true, offsets: true, mode: true, hidden: true };

/**
 * Whether a model and loss can train through {@link createHeadStep}, and with which layers: the model is
 * a classifier whose backbone is the identity (its inputs are features) or an `mlpBackbone` without
 * dropout and batch norm whose layers have at most {@link HIDDEN_STEP_MAX_WEIGHTS} weights, its head is
 * linear, these are all its trainable variables, and the loss is the plain softmax cross-entropy
 * (`crossEntropyLoss`, mean reducer, any label smoothing). Null otherwise. (The trainer must also check
 * what the loss does not see: no `objective`, `augment`, `synthesis`, and float32 inputs on cpu or wasm.)
 */
export function headStepPlan(model: Model, loss: Loss): HeadStepPlan | null {
  const m = model as unknown as {
    kind?: string;
    backbone?: { kind?: string; config?: { dropout?: unknown; batchNorm?: unknown }; trainableVariables?: readonly tf.Variable[]; inputShape?: readonly number[] };
    classifierHead?: { kind?: string; kernel?: tf.Variable; bias?: tf.Variable | null };
  };
  if (m.kind !== 'classifier' || m.classifierHead?.kind !== 'linear') return null;
  const backbone = m.backbone;
  const mlp = backbone?.kind === 'mlp' && backbone.config?.dropout === 0 && backbone.config?.batchNorm === false;
  if (backbone?.kind !== 'identity' && !mlp) return null;
  const { kernel, bias } = m.classifierHead;
  if (!(kernel instanceof tf.Variable) || kernel.shape.length !== 2 || !kernel.trainable) return null;
  if (kernel.shape[1] !== (model.numTrainClasses ?? model.numClasses)) return null;
  const trainable = model.trainableVariables;
  const hidden: DenseLayer[] = [];
  if (mlp) {
    const vars = backbone.trainableVariables ?? [];
    let width = backbone.inputShape?.[0];
    for (let i = 0; i < vars.length; i += 2) {
      const w = vars[i];
      const b = vars[i + 1];
      if (!(w instanceof tf.Variable) || w.shape.length !== 2 || w.shape[0] !== width || !(b instanceof tf.Variable) || b.shape.length !== 1 || b.shape[0] !== w.shape[1]) return null;
      if ((w.shape[0] as number) * (w.shape[1] as number) > HIDDEN_STEP_MAX_WEIGHTS) return null;
      hidden.push({ kernel: w, bias: b });
      width = w.shape[1];
    }
    if (hidden.length === 0 || width !== kernel.shape[0]) return null;
  }
  const expected = [...hidden.flatMap((l) => [l.kernel, l.bias as tf.Variable]), ...(bias ? [kernel, bias] : [kernel])];
  if (trainable.length !== expected.length || trainable.some((v, i) => v !== expected[i])) return null;
  if (loss.kind !== 'crossEntropy' || loss.reducer.kind !== 'mean' || loss.requires.some((r) => r !== 'logits')) return null;
  const labelSmoothing = Number((loss.config as { labelSmoothing?: unknown }).labelSmoothing ?? 0);
  if (!Number.isFinite(labelSmoothing)) return null;
  return { kernel, bias: bias ?? null, hidden, labelSmoothing };
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
  if (optimizer === null || typeof optimizer !== 'object' || typeof optimizer.apply !== 'function') throw invalid('INVALID_OPTION', 'an Optimizer (optimizerFromConfig)', 'optimizer', typeof optimizer);
  const labelSmoothing = checkRange('labelSmoothing', options.labelSmoothing ?? 0, { min: 0, max: 1, maxExclusive: true });
  const offsets = options.offsets ?? null;
  if (offsets !== null && (!(offsets instanceof Float32Array) || offsets.length !== c)) {
    throw invalid('INVALID_OPTION', `offsets to be a Float32Array of length ${c}`, 'offsets.length', (offsets as { length?: unknown })?.length);
  }
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'host' && mode !== 'matmul') throw invalid('INVALID_OPTION', 'mode to be one of "auto", "host", "matmul"', 'mode', mode);
  const hidden = options.hidden ?? [];
  if (!Array.isArray(hidden)) throw invalid('INVALID_OPTION', 'hidden to be an array of { kernel, bias } layers', 'hidden', typeof hidden);
  let width = hidden.length === 0 ? d : ((hidden[0] as DenseLayer).kernel?.shape?.[0] ?? -1);
  hidden.forEach((layer, l) => {
    const w = layer?.kernel;
    if (!(w instanceof tf.Variable) || w.dtype !== 'float32' || w.shape.length !== 2 || w.shape[0] !== width) {
      throw invalid('INVALID_OPTION', `hidden[${l}].kernel to be a float32 tf.Variable of shape [${width}, units]`, `hidden[${l}].kernel`, w instanceof tf.Tensor ? `shape [${w.shape.join(', ')}]` : typeof w);
    }
    const b = layer.bias;
    if (b !== null && (!(b instanceof tf.Variable) || b.dtype !== 'float32' || b.shape.length !== 1 || b.shape[0] !== w.shape[1])) {
      throw invalid('INVALID_OPTION', `hidden[${l}].bias to be null or a float32 tf.Variable of shape [${w.shape[1]}]`, `hidden[${l}].bias`, b instanceof tf.Tensor ? `shape [${b.shape.join(', ')}]` : typeof b);
    }
    width = w.shape[1] as number;
  });
  if (hidden.length > 0 && width !== d) throw invalid('INVALID_OPTION', `the last hidden layer's width = kernel.shape[0] = ${d}`, 'hidden width', width);
  const host = hostMemory();
  if (host === null) return null;
  if (hidden.length > 0) {
    const gemm = mode === 'matmul' ? null : createGemmKernel();
    return new DenseStackStep([...hidden, { kernel, bias }], optimizer, { labelSmoothing, offsets, mode }, host, gemm);
  }
  return new HeadStepImpl(kernel, bias, optimizer, { d, c, labelSmoothing, offsets, mode }, host);
}

/** The batch's b input rows of width d as one contiguous array (the inputs themselves when no rows are named). */
function batchInputs(batch: HeadStepBatch, b: number, d: number): Float32Array {
  if (batch.rows === undefined) return batch.x;
  const xb = new Float32Array(b * d);
  for (let i = 0; i < b; i++) {
    const r = batch.rows[i] as number;
    xb.set(batch.x.subarray(r * d, r * d + d), i * d);
  }
  return xb;
}

/**
 * Copies `count` rows (row i of `src` at i·width, or row rows[i] with `rows`) of `n` values into
 * `dst` at i·stride. Element loops for short rows, where a subarray per row costs more than the copy.
 */
function copyRows(src: Float32Array, rows: Int32Array | undefined, count: number, width: number, dst: Float32Array, stride: number, n: number): void {
  if (n >= 32) {
    for (let i = 0; i < count; i++) {
      const r = rows === undefined ? i : (rows[i] as number);
      dst.set(src.subarray(r * width, r * width + n), i * stride);
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    const from = (rows === undefined ? i : (rows[i] as number)) * width;
    const to = i * stride;
    for (let k = 0; k < n; k++) dst[to + k] = src[from + k] as number;
  }
}

/**
 * Sets each of the first `count` rows of `dst` (at i·stride) to `values` (the bias; zeros when null), and
 * the row's padding after values.length to 0: the first row element by element, the others by doubling
 * block copies of the rows already set.
 */
function broadcastRows(dst: Float32Array, count: number, stride: number, values: Float32Array | null): void {
  if (count === 0) return;
  if (values === null) dst.fill(0, 0, stride);
  else {
    dst.set(values);
    dst.fill(0, values.length, stride);
  }
  for (let done = 1; done < count; done *= 2) dst.copyWithin(done * stride, 0, Math.min(done, count - done) * stride);
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

  /** Softmax cross-entropy rows of the float32 logits `z` (rows `zStride` apart): loss mean and P − Q into `g`. */
  private lossAndLogitGrad(z: Float32Array, zStride: number, labels: Int32Array, b: number): number {
    const { c, labelSmoothing, offsets } = this.shape;
    softmaxCrossEntropyRows(z, labels, b, c, { offsets, labelSmoothing, weights: null, zStride }, this.perSample, this.g);
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
    let loss: number;
    if (gemm !== null) {
      this.simdForward(gemm, batch, b, w, bias);
      loss = this.lossAndLogitGrad(gemm.view((this.simd as SimdBuffers).z, b * this.c4), this.c4, batch.labels, b);
    } else {
      this.jsForward(batch, b, w, bias);
      loss = this.lossAndLogitGrad(this.z, c, batch.labels, b);
    }
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
    copyRows(x, rows, b, d, xv, d4, d);
    const wv = gemm.view(buf.w, d4 * c4);
    copyRows(w, undefined, d, c, wv, c4, c);
    broadcastRows(gemm.view(buf.z, b * c4), b, c4, bias);
    gemm.axpyGrid(buf.x, buf.w, buf.z, b, d4, c4 / 4, 0, c4 * 4, c4 * 4, 0);
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
    // One pass: G = (P − Q)/B rounded to float32, its column sums (float64, row by row) and its copy
    // into the kernel's memory (compact [B, C] for dWᵀ when C < D, padded [B, C4] otherwise).
    const transposed = c < d;
    const gk = transposed ? gemm.view(buf.gc, b * c) : gemm.view(buf.g, b * c4);
    const stride = transposed ? c : c4;
    for (let i = 0; i < b; i++) {
      const gi = i * c;
      const ki = i * stride;
      for (let j = 0; j < c; j++) {
        const v = Math.fround((g[gi + j] as number) * inv);
        g[gi + j] = v;
        row[j] = (row[j] as number) + v;
        gk[ki + j] = v;
      }
    }
    for (let j = 0; j < c; j++) db[j] = row[j] as number;
    if (transposed) {
      const dwTv = gemm.view(buf.dwT, c * d4);
      dwTv.fill(0);
      gemm.axpyGrid(buf.gc, buf.x, buf.dwT, b, c, d4 / 4, d4 * 4, 0, 0, d4 * 4);
      for (let j = 0; j < c; j++) for (let k = 0; k < d; k++) dw[k * c + j] = dwTv[j * d4 + k] as number;
      return;
    }
    const dwv = gemm.view(buf.dw, d4 * c4);
    dwv.fill(0);
    gemm.axpyGrid(buf.x, buf.g, buf.dw, b, d4, c4 / 4, c4 * 4, 0, 0, c4 * 4);
    copyRows(dwv, undefined, d, c4, dw, c, c);
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
    const xb = batchInputs(batch, b, d);
    return tf.tidy(() => {
      const xt = tf.tensor2d(xb, [b, d]);
      const logits = this.bias === null ? tf.matMul(xt, this.kernel) : tf.add(tf.matMul(xt, this.kernel), this.bias);
      const loss = this.lossAndLogitGrad(this.host.view(logits), c, batch.labels, b);
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

/** Shape of one layer of a {@link DenseStackStep}: widths and their f32x4-padded versions. */
interface StackLayer extends DenseLayer {
  readonly inDim: number;
  readonly outDim: number;
  readonly in4: number;
  readonly out4: number;
}

/**
 * The step of dense ReLU layers plus a linear head on the SIMD kernel (rows padded to whole f32x4
 * vectors, padding kept at 0): forward h_{l+1} = ReLU(h_l·W_l + b_l), logits, cross-entropy, then for
 * l = L−1 … 0: dW_l = h_lᵀ·G_l, db_l = Σ_i G_l, G_{l−1} = (G_l·W_lᵀ) ⊙ [h_l > 0].
 */
class DenseStackStep implements HeadStep {
  private readonly guard = new DisposeGuard('head step');
  private readonly layers: StackLayer[];
  private readonly variables: tf.Variable[];
  private readonly grads: Float32Array[];
  private rowsAllocated = 0;
  private buf: { act: number[]; z: number; g: number[]; w: number[]; wT: number[]; dw: number[] } | null = null;
  private gc = new Float32Array(0);
  private perSample = new Float32Array(0);

  constructor(
    layers: readonly DenseLayer[],
    private readonly optimizer: Optimizer,
    private readonly loss: { labelSmoothing: number; offsets: Float32Array | null; mode: HeadStepMode | 'auto' },
    private readonly host: HostMemory,
    private readonly gemm: GemmKernel | null,
  ) {
    this.layers = layers.map((l) => {
      const [inDim, outDim] = l.kernel.shape as [number, number];
      return { ...l, inDim, outDim, in4: Math.ceil(inDim / 4) * 4, out4: Math.ceil(outDim / 4) * 4 };
    });
    this.variables = layers.flatMap((l) => (l.bias === null ? [l.kernel] : [l.kernel, l.bias]));
    this.grads = this.variables.map((v) => new Float32Array(v.size));
  }

  get mode(): HeadStepMode | 'auto' {
    return this.gemm === null ? 'matmul' : this.loss.mode;
  }

  private buffers(rows: number): NonNullable<DenseStackStep['buf']> {
    if (this.buf !== null && this.rowsAllocated >= rows) return this.buf;
    const g = this.gemm as GemmKernel;
    g.reset();
    const zeroed = (n: number): number => {
      const at = g.alloc(n);
      g.view(at, n).fill(0);
      return at;
    };
    const last = this.layers[this.layers.length - 1] as StackLayer;
    this.buf = {
      act: this.layers.map((l) => zeroed(rows * l.in4)),
      z: zeroed(rows * last.out4),
      g: this.layers.map((l) => zeroed(rows * l.out4)),
      w: this.layers.map((l) => zeroed(l.in4 * l.out4)),
      wT: this.layers.map((l) => zeroed(l.out4 * l.in4)),
      dw: this.layers.map((l) => zeroed(l.in4 * l.out4)),
    };
    this.rowsAllocated = rows;
    const c = last.outDim;
    this.gc = new Float32Array(rows * c);
    this.perSample = new Float32Array(rows);
    return this.buf;
  }

  step(batch: HeadStepBatch): HeadStepResult {
    this.guard.check();
    const layers = this.layers;
    const first = layers[0] as StackLayer;
    const last = layers[layers.length - 1] as StackLayer;
    const d = first.inDim;
    const c = last.outDim;
    const b = batch.rows?.length ?? batch.labels.length;
    if (batch.labels.length !== b || b === 0) throw invalid('SHAPE_MISMATCH', `labels.length = batch rows (${b}) > 0`, 'labels.length', batch.labels.length);
    if (batch.rows === undefined ? batch.x.length !== b * d : batch.x.length % d !== 0) {
      throw invalid('SHAPE_MISMATCH', `x with rows of ${d} features`, 'x.length', batch.x.length);
    }
    let macs = 0;
    for (const l of layers) macs += b * l.inDim * l.outDim;
    const g = this.gemm;
    if (g === null || (this.loss.mode === 'auto' && macs > HOST_STACK_MAX_MACS)) return this.matmulStep(batch, b);
    const buf = this.buffers(b);
    // Inputs into the first activation buffer; weights (read through host views before the update
    // allocates anything) into the padded W and Wᵀ buffers.
    copyRows(batch.x, batch.rows, b, d, g.view(buf.act[0] as number, b * first.in4), first.in4, d);
    layers.forEach((l, k) => {
      const w = this.host.view(l.kernel);
      copyRows(w, undefined, l.inDim, l.outDim, g.view(buf.w[k] as number, l.in4 * l.out4), l.out4, l.outDim);
      if (k > 0) {
        const wT = g.view(buf.wT[k] as number, l.out4 * l.in4);
        for (let r = 0; r < l.inDim; r++) for (let j = 0; j < l.outDim; j++) wT[j * l.in4 + r] = w[r * l.outDim + j] as number;
      }
    });
    // Forward.
    layers.forEach((l, k) => {
      const out = k + 1 < layers.length ? (buf.act[k + 1] as number) : buf.z;
      const ov = g.view(out, b * l.out4);
      broadcastRows(ov, b, l.out4, l.bias === null ? null : this.host.view(l.bias));
      g.axpyGrid(buf.act[k] as number, buf.w[k] as number, out, b, l.in4, l.out4 / 4, 0, l.out4 * 4, l.out4 * 4, 0);
      if (k + 1 < layers.length) for (let t = 0; t < b * l.out4; t++) if (!((ov[t] as number) > 0)) ov[t] = (ov[t] as number) !== (ov[t] as number) ? (ov[t] as number) : 0;
    });
    // Loss and G = (P − Q)/B at the logits, into the padded rows of the top gradient.
    const loss = this.lossAndScaledGrad(g.view(buf.z, b * last.out4), last.out4, batch.labels, b, c);
    copyRows(this.gc, undefined, b, c, g.view(buf.g[layers.length - 1] as number, b * last.out4), last.out4, c);
    // Backward.
    let v = this.variables.length;
    for (let k = layers.length - 1; k >= 0; k--) {
      const l = layers[k] as StackLayer;
      const gv = g.view(buf.g[k] as number, b * l.out4);
      if (l.bias !== null) {
        const db = this.grads[--v] as Float32Array;
        db.fill(0);
        const sums = new Float64Array(l.outDim);
        for (let i = 0; i < b; i++) for (let j = 0; j < l.outDim; j++) sums[j] = (sums[j] as number) + (gv[i * l.out4 + j] as number);
        for (let j = 0; j < l.outDim; j++) db[j] = sums[j] as number;
      }
      const dwv = g.view(buf.dw[k] as number, l.in4 * l.out4);
      dwv.fill(0);
      g.axpyGrid(buf.act[k] as number, buf.g[k] as number, buf.dw[k] as number, b, l.in4, l.out4 / 4, l.out4 * 4, 0, 0, l.out4 * 4);
      const dw = this.grads[--v] as Float32Array;
      for (let r = 0; r < l.inDim; r++) dw.set(dwv.subarray(r * l.out4, r * l.out4 + l.outDim), r * l.outDim);
      if (k > 0) {
        const below = g.view(buf.g[k - 1] as number, b * l.in4);
        below.fill(0);
        g.axpyGrid(buf.g[k] as number, buf.wT[k] as number, buf.g[k - 1] as number, b, l.out4, l.in4 / 4, 0, l.in4 * 4, l.in4 * 4, 0);
        const act = g.view(buf.act[k] as number, b * l.in4);
        for (let t = 0; t < b * l.in4; t++) if (!((act[t] as number) > 0)) below[t] = 0;
      }
    }
    let bad = Number.isFinite(loss) ? -1 : -2;
    for (let i = 0; i < this.grads.length && bad === -1; i++) {
      let sum = 0;
      for (const value of this.grads[i] as Float32Array) sum += value;
      if (!Number.isFinite(sum)) bad = i;
    }
    if (bad !== -1) return { loss, bad };
    if (!applyHostGradients(this.optimizer, this.variables, this.grads, batch.learningRate)) {
      tf.tidy(() => this.optimizer.apply(this.variables, this.grads.map((t, i) => tf.tensor(t, (this.variables[i] as tf.Variable).shape, 'float32')), batch.learningRate));
    }
    return { loss, bad };
  }

  /** Host rows for batches of `b` rows and `c` classes (per-sample losses, logit gradients). */
  private ensureRows(b: number, c: number): void {
    if (this.gc.length >= b * c) return;
    this.gc = new Float32Array(b * c);
    this.perSample = new Float32Array(b);
  }

  /**
   * Loss mean of the logits `z` [B, C] (rows `zStride` apart); (P − Q)/B into `gc` [B, C], rounded to
   * float32 as tfjs's mean gradient.
   */
  private lossAndScaledGrad(z: Float32Array, zStride: number, labels: Int32Array, b: number, c: number): number {
    this.ensureRows(b, c);
    softmaxCrossEntropyRows(z, labels, b, c, { offsets: this.loss.offsets, labelSmoothing: this.loss.labelSmoothing, weights: null, zStride }, this.perSample, this.gc);
    let total = 0;
    for (let i = 0; i < b; i++) total += this.perSample[i] as number;
    const inv = Math.fround(1 / b);
    for (let t = 0; t < b * c; t++) this.gc[t] = Math.fround((this.gc[t] as number) * inv);
    return Math.fround(total / b);
  }

  /** The same step with the backend's matmul (XNNPACK on wasm) for the products, no tape. */
  private matmulStep(batch: HeadStepBatch, b: number): HeadStepResult {
    const layers = this.layers;
    const d = (layers[0] as StackLayer).inDim;
    const c = (layers[layers.length - 1] as StackLayer).outDim;
    const xb = batchInputs(batch, b, d);
    return tf.tidy(() => {
      const acts: tf.Tensor2D[] = [tf.tensor2d(xb, [b, d])];
      let logits: tf.Tensor2D | null = null;
      layers.forEach((l, k) => {
        const last = k === layers.length - 1;
        const out = tf.fused.matMul({ a: acts[k] as tf.Tensor2D, b: l.kernel as tf.Tensor2D, ...(l.bias === null ? {} : { bias: l.bias }), activation: last ? 'linear' : 'relu' });
        if (last) logits = out as tf.Tensor2D;
        else acts.push(out as tf.Tensor2D);
      });
      const loss = this.lossAndScaledGrad(this.host.view(logits as unknown as tf.Tensor2D), c, batch.labels, b, c);
      let g: tf.Tensor2D = tf.tensor2d(this.gc.subarray(0, b * c), [b, c]);
      const grads: tf.Tensor[] = [];
      for (let k = layers.length - 1; k >= 0; k--) {
        const l = layers[k] as StackLayer;
        const a = acts[k] as tf.Tensor2D;
        if (l.bias !== null) grads.unshift(tf.sum(g, 0));
        grads.unshift(tf.matMul(a, g, true, false));
        if (k > 0) g = tf.mul(tf.matMul(g, l.kernel as tf.Tensor2D, false, true), tf.step(a)) as tf.Tensor2D;
      }
      const sums = this.host.view(tf.stack(grads.map((t) => tf.sum(t))));
      let bad = Number.isFinite(loss) ? -1 : -2;
      for (let i = 0; i < grads.length && bad === -1; i++) if (!Number.isFinite(sums[i] as number)) bad = i;
      if (bad === -1) this.optimizer.apply(this.variables, grads, batch.learningRate);
      return { loss, bad };
    });
  }

  dispose(): void {
    if (!this.guard.markDisposed()) return;
    this.gemm?.reset();
    this.buf = null;
  }
}
