/**
 * Fused softmax cross-entropy for the backends whose tensors live in host memory (cpu, wasm): one kernel
 * computes, per row, the loss and its gradient with respect to the logits, and a custom gradient makes
 * the tape record one op instead of the ~35 kernels of tfjs-core's logSoftmax / one-hot / where / sum
 * composition (forward and backward).
 *
 * With z̃_ij = z_ij + o_j (logit-adjustment offsets o), p = softmax(z̃_i), q_i = (1 − ε)·onehot(y_i) + ε/C
 * (label smoothing ε) and per-sample weights w_i (constants, default 1):
 *
 *   ℓ_i = w_i · Σ_{j: q_ij > 0} q_ij · (logsumexp(z̃_i) − z̃_ij),   ∂ℓ_i/∂z_ij = w_i · (p_ij − q_ij).
 *
 * Terms with q_ij = 0 are skipped, so a logit of −∞ (a masked class) adds 0 and gets a zero gradient, as
 * in PyTorch's `cross_entropy`. Each row is computed in float64 (exponentials by {@link exp64}) and stored
 * as float32.
 */
import * as tf from '@tensorflow/tfjs';
import { exp64 } from '../core/exp.js';
import { hostMemory } from './host-memory.js';

/** Name of the fused kernel in the tfjs registry (cpu and wasm). */
export const SOFTMAX_CE_KERNEL = 'LongtailSoftmaxCrossEntropy';

/** Options of {@link fusedSoftmaxCrossEntropy}. */
export interface FusedSoftmaxCrossEntropyOptions {
  /** Per-class offsets o_j added to every row of logits (logit adjustment τ·log π_j); length C. */
  readonly offsets?: Float32Array;
  /** Label smoothing ε ∈ [0, 1). @defaultValue 0 */
  readonly labelSmoothing?: number;
  /** Per-sample weights w_i, constants (no gradient flows to them); length N. */
  readonly weights?: Float32Array;
}

interface Attrs {
  offsets: Float32Array | null;
  labelSmoothing: number;
  weights: Float32Array | null;
  /** Distance between the starts of consecutive rows of `z` (padded rows); default C. */
  zStride?: number;
}

/**
 * The row computation shared by both backends: writes ℓ into `loss` [N] and ∂ℓ/∂z into `grad` [N, C]
 * (compact rows, whatever `zStride`).
 * Labels outside [0, C) give an all-ε/C target (callers validate labels before).
 */
export function softmaxCrossEntropyRows(
  z: Float32Array,
  labels: Int32Array,
  n: number,
  c: number,
  attrs: Attrs,
  loss: Float32Array,
  grad: Float32Array,
): void {
  const { offsets, weights } = attrs;
  const eps = attrs.labelSmoothing;
  const off = eps / c;
  const on = 1 - eps + off;
  const zStride = attrs.zStride ?? c;
  const t = scratchRow(2 * c);
  for (let i = 0; i < n; i++) {
    const base = i * c;
    const zBase = i * zStride;
    // z̃ = z + o into t[0, C), its max, then exp(z̃ − max) into t[C, 2C) (a NaN anywhere makes the sum,
    // hence the row, NaN).
    let max = -Infinity;
    for (let j = 0; j < c; j++) {
      const v = (z[zBase + j] as number) + (offsets === null ? 0 : (offsets[j] as number));
      t[j] = v;
      if (v > max) max = v;
    }
    let sum = 0;
    for (let j = 0; j < c; j++) {
      const e = exp64((t[j] as number) - max);
      t[c + j] = e;
      sum += e;
    }
    const lse = max + Math.log(sum);
    const inv = 1 / sum;
    const y = labels[i] as number;
    const w = weights === null ? 1 : (weights[i] as number);
    let l = 0;
    if (off > 0) {
      for (let j = 0; j < c; j++) l += (j === y ? on : off) * (lse - (t[j] as number));
    } else if (y >= 0 && y < c) {
      l = on * (lse - (t[y] as number));
    }
    for (let j = 0; j < c; j++) grad[base + j] = w * ((t[c + j] as number) * inv - (j === y ? on : off));
    loss[i] = w * l;
  }
}

let scratch = new Float64Array(0);

/** A reused float64 row of at least `c` entries. */
function scratchRow(c: number): Float64Array {
  if (scratch.length < c) scratch = new Float64Array(c);
  return scratch;
}

/** Kernel inputs: logits float32 [N, C], labels int32 [N]. Outputs: loss [N], gradient [N, C]. */
function kernelFunc({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const logits = inputs['logits'] as tf.TensorInfo;
  const labels = inputs['labels'] as tf.TensorInfo;
  const [n, c] = logits.shape as [number, number];
  const a = attrs as unknown as Attrs;
  if (tf.getBackend() === 'wasm') {
    const b = backend as {
      makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
      typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
    };
    const loss = b.makeOutput([n], 'float32');
    const grad = b.makeOutput([n, c], 'float32');
    // Views after the last allocation (the heap may have grown).
    softmaxCrossEntropyRows(
      b.typedArrayFromHeap(logits) as Float32Array,
      b.typedArrayFromHeap(labels) as Int32Array,
      n, c, a,
      b.typedArrayFromHeap(loss) as Float32Array,
      b.typedArrayFromHeap(grad) as Float32Array,
    );
    return [loss, grad];
  }
  const b = backend as {
    data: { get(id: object): { values: Float32Array | Int32Array } };
    makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  };
  const loss = new Float32Array(n);
  const grad = new Float32Array(n * c);
  softmaxCrossEntropyRows(b.data.get(logits.dataId).values as Float32Array, b.data.get(labels.dataId).values as Int32Array, n, c, a, loss, grad);
  return [b.makeTensorInfo([n], 'float32', loss), b.makeTensorInfo([n, c], 'float32', grad)];
}

/** Registers the fused kernel for `backend` once (no-op when already there). */
function ensureKernel(backend: 'cpu' | 'wasm'): void {
  if (tf.getKernel(SOFTMAX_CE_KERNEL, backend) === undefined) {
    tf.registerKernel({ kernelName: SOFTMAX_CE_KERNEL, backendName: backend, kernelFunc: kernelFunc as tf.KernelFunc });
  }
}

/** Whether the loss functions route hard-label cross-entropy through the fused op (internal switch). */
let fusedEnabled = true;

/** Turns routing through the fused op on or off (internal: tests compare both paths); returns the previous setting. */
export function setFusedCrossEntropy(on: boolean): boolean {
  const previous = fusedEnabled;
  fusedEnabled = on;
  return previous;
}

/** True when the fused op is enabled and can run on the active backend (cpu or wasm with the expected internals). */
export function fusedSoftmaxCrossEntropyAvailable(): boolean {
  return fusedEnabled && hostMemory() !== null;
}

/**
 * Per-sample softmax cross-entropy of hard labels through the fused kernel, differentiable with respect
 * to `logits` (one tape op). Only on cpu and wasm ({@link fusedSoftmaxCrossEntropyAvailable}); inputs
 * are not validated here (the loss functions validate them first).
 *
 * @param logits - float32 [N, C].
 * @param labels - int32 [N] in [0, C).
 * @returns float32 [N], owned by the caller.
 */
export function fusedSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, options: FusedSoftmaxCrossEntropyOptions = {}): tf.Tensor1D {
  const backend = tf.getBackend();
  if (backend !== 'cpu' && backend !== 'wasm') throw new Error(`fused softmax cross-entropy runs on cpu or wasm, not ${backend}`);
  ensureKernel(backend);
  const attrs: Attrs = { offsets: options.offsets ?? null, labelSmoothing: options.labelSmoothing ?? 0, weights: options.weights ?? null };
  const y = labels.dtype === 'int32' ? labels : (tf.cast(labels, 'int32') as tf.Tensor1D);
  try {
    const op = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
      const [loss, grad] = tf.engine().runKernel(SOFTMAX_CE_KERNEL, { logits: z, labels: y }, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor1D, tf.Tensor2D];
      save([grad]);
      return {
        value: loss,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0] as tf.Tensor2D, tf.reshape(dy, [-1, 1])),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(logits) as tf.Tensor1D;
  } finally {
    if (y !== labels) y.dispose();
  }
}
