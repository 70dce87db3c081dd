/**
 * Fused supervised contrastive loss for the backends whose tensors live in host memory (cpu, wasm): the
 * similarity and the feature gradient are one matMul each (XNNPACK on wasm), and everything around and
 * between them runs as host passes: the L2 normalization and view-major layout of the rows, the row-wise
 * log-softmax over the non-self entries with the mean over positives and its gradient, and in the backward
 * pass the symmetrization and the normalization's gradient. A custom gradient makes the tape record one
 * op instead of the ~25 kernels of the tfjs-op composition.
 *
 * With raw features x (anchor a = v·N + i is view v of sample i) and contrast rows p, normalized rows
 * â = x / max(‖x‖, 1e-12) (or x itself without normalization), A [M, d], P [K, d] (K may be 0),
 * S = A·[A; P]ᵀ / T, anchor ids y (contrast id −1: never a positive), positives P(a) = {b ≠ a : y_b = y_a},
 * n_a = |P(a)| and c_a = −(T/T_base) where n_a > 0, 0 otherwise:
 *
 *   ℓ_a = c_a · ((1/n_a) Σ_{b∈P(a)} S_ab − m_a − log Σ_{b≠a} exp(S_ab − m_a)),
 *   G_ab = ∂ℓ_a/∂S_ab = c_a · (1[b∈P(a)]/n_a − softmax_{b≠a}(S_a)_b),   G_aa = 0,
 *
 * and for an upstream gradient g [M] (∂L/∂ℓ_a): ∂L/∂A = (D + Dᵀ)·A/T + D_P·P/T and ∂L/∂P = D_Pᵀ·A/T, with
 * D = diag(g)·G on the anchor columns and D_P = diag(g)·G on the contrast columns, then
 * ∂L/∂x = (∂L/∂â − â(â·∂L/∂â)) / ‖x‖. The shift m_a (the row max over the non-self entries, or one
 * shift shared by all rows, see supConForwardRows) is a constant for the gradient (SupContrast's
 * `logits_max.detach()`); it cancels in ℓ_a. Rows are computed in float64 and stored as float32.
 */
import * as tf from '@tensorflow/tfjs';
import { exp64 } from '../core/exp.js';
import { hostMemory } from './host-memory.js';

/** Kernel (tfjs registry, cpu and wasm): S [M, W] → ℓ [M], exponentials e [M, W], gradient-row coefficients [M, 2]. */
export const SUPCON_FORWARD_KERNEL = 'LongtailSupConForward';
/** Kernel: e [M, W], coefficients [M, 2], g [M] → H = (D̃ + D̃ᵀ)/T [W, W], D̃ = diag(g)·G padded with K zero rows. */
export const SUPCON_BACKWARD_KERNEL = 'LongtailSupConBackward';
/** Kernel: x, p → A/T [M, d], [A; P]ᵀ [d, W], [A; P] [W, d] (â = x / max(‖x‖, 1e-12), view-major). */
export const SUPCON_PREPARE_KERNEL = 'LongtailSupConPrepare';
/** Kernel: ∂L/∂[A; P] [W, d], x, p → ∂L/∂x, ∂L/∂p (the normalization's gradient, back to x's layout). */
export const SUPCON_NORMALIZE_BACKWARD_KERNEL = 'LongtailSupConNormalizeBackward';

/** Options of {@link fusedSupCon}. */
export interface FusedSupConOptions {
  /** Anchor ids [M] (labels, or sample indices in SimCLR mode), view-major. */
  readonly ids: Int32Array;
  /** Contrast ids [K]; −1 marks an entry that is never a positive. */
  readonly contrastIds: Int32Array;
  /** Temperature T > 0. */
  readonly temperature: number;
  /** The loss scale T / T_base. */
  readonly scale: number;
  /** L2-normalize the features and the contrast entries first. */
  readonly normalize: boolean;
}

interface ForwardAttrs {
  ids: Int32Array;
  contrastIds: Int32Array;
  scale: number;
  /** A bound on |S_ab| known in advance (1/T for normalized rows), or null. */
  bound: number | null;
}

/**
 * The forward row pass: from S [M, W] (W = M + K, already divided by T) writes ℓ into `loss` [M] and
 * into `exps` [M, W] the exponentials e_ab = exp(S_ab − shift) (0 on the diagonal) and into `coef` [M, 2]
 * the coefficients of the gradient row G_ab = ∂ℓ_a/∂S_ab = cp_a·1[b∈P(a)] − cs_a·e_ab (see finishRow).
 * A NaN in a row makes its loss and gradient NaN, also for an anchor without positives (c_a = 0
 * multiplies, as in the op composition).
 *
 * The log-sum-exp shift is a constant of the gradient and cancels in ℓ, so when the row maxima m_a lie
 * within {@link SHARED_SHIFT_RANGE} of each other it is their maximum, one shift for every row:
 * exp(S_ab − shift) of the anchor block (symmetric up to rounding, S_ab = â·b̂/T) is then computed once
 * per pair, half the exponentials. For normalized rows with 2/T below that range the shift is 1/T, the
 * bound of |S_ab|, and the maxima are not needed. Otherwise (a small temperature, unnormalized features)
 * each row uses its own m_a.
 */
function supConForwardRows(s: Float32Array, m: number, attrs: ForwardAttrs, loss: Float32Array, exps: Float32Array, coef: Float32Array): void {
  const w = m + attrs.contrastIds.length;
  if (attrs.bound !== null && 2 * attrs.bound < SHARED_SHIFT_RANGE) {
    // Every S_ab lies in [−bound, bound] (up to float32 rounding, harmless in exp), so the shift `bound`
    // is within the range of every row's max: no pass for the maxima.
    sharedShiftRows(s, m, attrs, attrs.bound, loss, exps, coef);
    return;
  }
  const rowMax = scratchRows(m);
  let top = -Infinity;
  let low = Infinity;
  for (let a = 0; a < m; a++) {
    const base = a * w;
    let max = -Infinity;
    for (let b = 0; b < w; b++) {
      const v = s[base + b] as number;
      if (v > max && b !== a) max = v;
    }
    rowMax[a] = max;
    if (max > top) top = max;
    if (max < low) low = max;
  }
  if (Number.isFinite(top) && Number.isFinite(low) && top - low < SHARED_SHIFT_RANGE) sharedShiftRows(s, m, attrs, top, loss, exps, coef);
  else ownShiftRows(s, m, attrs, rowMax, loss, exps, coef);
}

/**
 * Largest spread of the row maxima for one shared shift: the exponentials are kept as float32
 * for the backward pass, so each row's largest, exp(m_a − shift) ≥ e^−60 ≈ 1e-26, must stay a
 * normal float32 (≥ 1.2e-38) with its full precision. At T = 0.07 on normalized features the spread is
 * at most 2/T ≈ 29.
 */
const SHARED_SHIFT_RANGE = 60;

/** exp(S_ab − shift) once per anchor pair (into both e_ab and e_ba), then each row's ℓ_a and G row. */
function sharedShiftRows(s: Float32Array, m: number, attrs: ForwardAttrs, shift: number, loss: Float32Array, exps: Float32Array, coef: Float32Array): void {
  const { ids, contrastIds } = attrs;
  const counts = idCounts(ids);
  const w = m + contrastIds.length;
  const sums = scratchRows(2 * m).fill(0);
  // sums[a]: Σ_b e_ab; sums[m + a]: Σ_{b∈P(a), b<M} S_ab (each positive pair read from both rows).
  for (let a = 0; a < m; a++) {
    const base = a * w;
    const id = ids[a] as number;
    let sum = sums[a] as number;
    let pos = sums[m + a] as number;
    exps[base + a] = 0;
    for (let b = a + 1; b < m; b++) {
      const v = s[base + b] as number;
      const x = exp64(v - shift);
      exps[base + b] = x;
      exps[b * w + a] = x;
      sum += x;
      sums[b] = (sums[b] as number) + x;
      if (ids[b] === id) {
        pos += v;
        sums[m + b] = (sums[m + b] as number) + (s[b * w + a] as number);
      }
    }
    for (let b = m; b < w; b++) {
      const x = exp64((s[base + b] as number) - shift);
      exps[base + b] = x;
      sum += x;
    }
    sums[a] = sum;
    sums[m + a] = pos;
  }
  for (let a = 0; a < m; a++) finishRow(s, a, m, attrs, counts, shift, sums[a] as number, sums[m + a] as number, loss, coef);
}

/** Each row with its own shift m_a (exp once per entry). */
function ownShiftRows(s: Float32Array, m: number, attrs: ForwardAttrs, rowMax: Float64Array, loss: Float32Array, exps: Float32Array, coef: Float32Array): void {
  const w = m + attrs.contrastIds.length;
  const counts = idCounts(attrs.ids);
  for (let a = 0; a < m; a++) {
    const base = a * w;
    const shift = rowMax[a] as number;
    const id = attrs.ids[a] as number;
    let sum = 0;
    let pos = 0;
    for (let b = 0; b < w; b++) {
      const v = s[base + b] as number;
      const x = b === a ? 0 : exp64(v - shift);
      exps[base + b] = x;
      sum += x;
      if (b < m && b !== a && attrs.ids[b] === id) pos += v;
    }
    finishRow(s, a, m, attrs, counts, shift, sum, pos, loss, coef);
  }
}

/** How many anchors carry each id. */
function idCounts(ids: Int32Array): Map<number, number> {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/**
 * Row a from the sum of its exponentials and the sum of S over its anchor positives:
 * ℓ_a = c_a·(mean_{P(a)} S_ab − shift − log sum), and the two coefficients of its gradient row,
 * G_ab = cp_a·1[b∈P(a)] − cs_a·e_ab with cp_a = c_a/n_a and cs_a = c_a/sum, into `coef` [M, 2].
 */
function finishRow(s: Float32Array, a: number, m: number, attrs: ForwardAttrs, anchorCounts: Map<number, number>, shift: number, sum: number, anchorPosSum: number, loss: Float32Array, coef: Float32Array): void {
  const { ids, contrastIds, scale } = attrs;
  const k = contrastIds.length;
  const base = a * (m + k);
  const id = ids[a] as number;
  let posSum = anchorPosSum;
  let count = (anchorCounts.get(id) as number) - 1; // the anchor itself is not its own positive
  for (let j = 0; j < k; j++) {
    if (contrastIds[j] === id) {
      posSum += s[base + m + j] as number;
      count++;
    }
  }
  const c = count > 0 ? -scale : 0;
  // + 0: an anchor without positives gets +0 (c = 0 times a negative log-sum-exp would be −0); NaN stays NaN.
  loss[a] = c * ((count > 0 ? posSum / count : 0) - shift - Math.log(sum)) + 0;
  coef[2 * a] = count > 0 ? c / count : 0;
  coef[2 * a + 1] = c / sum;
}

interface BackwardAttrs {
  ids: Int32Array;
  contrastIds: Int32Array;
  invT: number;
}

/**
 * The backward pass between the two matMuls: from the forward pass's exponentials e [M, W], row
 * coefficients (cp_a, cs_a) and g [M] writes the symmetric `h` [W, W] with H = (D̃ + D̃ᵀ)/T, where D̃ [W, W]
 * is diag(g)·G (G_ab = cp_a·1[b∈P(a)] − cs_a·e_ab) on its first M rows and 0 on the contrast rows, so
 * ∂L/∂[A; P] = H·[A; P] in one product (anchor rows: (D + Dᵀ)·A/T + D_P·P/T; contrast rows: D_Pᵀ·A/T).
 */
function supConBackwardRows(exps: Float32Array, coef: Float32Array, dy: Float32Array, attrs: BackwardAttrs, h: Float32Array): void {
  const { ids, contrastIds, invT } = attrs;
  const m = ids.length;
  const k = contrastIds.length;
  const w = m + k;
  // Per anchor: g_a·cp_a/T and g_a·cs_a/T.
  const pq = scratchRows(2 * m);
  for (let a = 0; a < m; a++) {
    const g = (dy[a] as number) * invT;
    pq[2 * a] = g * (coef[2 * a] as number);
    pq[2 * a + 1] = g * (coef[2 * a + 1] as number);
  }
  for (let a = 0; a < m; a++) {
    const base = a * w;
    const id = ids[a] as number;
    const pa = pq[2 * a] as number;
    const qa = pq[2 * a + 1] as number;
    // Both triangles from one visit; the diagonal is −(q_a + q_a)·0: 0, or NaN when the row is.
    h[base + a] = -qa * (exps[base + a] as number) * 2;
    for (let b = a + 1; b < m; b++) {
      const v = (ids[b] === id ? pa + (pq[2 * b] as number) : 0) - qa * (exps[base + b] as number) - (pq[2 * b + 1] as number) * (exps[b * w + a] as number);
      h[base + b] = v;
      h[b * w + a] = v;
    }
    for (let j = 0; j < k; j++) {
      const v = (contrastIds[j] === id ? pa : 0) - qa * (exps[base + m + j] as number);
      h[base + m + j] = v;
      h[(m + j) * w + a] = v;
    }
  }
  // The contrast rows' first M columns were written above; their K × K block is 0.
  for (let j = m; j < w; j++) h.fill(0, j * w + m, j * w + w);
}

/** Geometry of the raw inputs: N samples × V views of width d (view-major anchors), K contrast rows. */
interface Layout {
  n: number;
  views: number;
  d: number;
  k: number;
  normalize: boolean;
}

/** 1/max(‖x‖, 1e-12) of the row at `offset` (PyTorch's F.normalize floor; 1 without normalization). */
function inverseNorm(x: Float32Array, offset: number, d: number, normalize: boolean): number {
  if (!normalize) return 1;
  let s = 0;
  for (let j = 0; j < d; j++) s += (x[offset + j] as number) ** 2;
  return 1 / Math.sqrt(Math.max(s, 1e-24));
}

/** Row `r` of [A; P] (view-major anchor r = v·N + i is view v of sample i) as an offset into its source. */
function source(r: number, l: Layout): { src: 0 | 1; offset: number } {
  const m = l.n * l.views;
  if (r >= m) return { src: 1, offset: (r - m) * l.d };
  const v = Math.floor(r / l.n);
  const i = r - v * l.n;
  return { src: 0, offset: (i * l.views + v) * l.d };
}

/**
 * The preparation pass: normalized rows [A; P] as `all` [W, d], their transpose `allT` [d, W], and the
 * scaled anchors `scaled` [M, d] = fround(A · fround(1/T)) (what tf.mul(A, 1/T) gives in float32).
 */
function supConPrepareRows(x: Float32Array, p: Float32Array | null, l: Layout, invT32: number, all: Float32Array, allT: Float32Array, scaled: Float32Array): void {
  const m = l.n * l.views;
  const w = m + l.k;
  const d = l.d;
  for (let r = 0; r < w; r++) {
    const { src, offset } = source(r, l);
    const values = src === 0 ? x : (p as Float32Array);
    const inv = inverseNorm(values, offset, d, l.normalize);
    for (let j = 0; j < d; j++) {
      const v = Math.fround((values[offset + j] as number) * inv);
      all[r * d + j] = v;
      allT[j * w + r] = v;
      if (r < m) scaled[r * d + j] = v * invT32;
    }
  }
}

/**
 * The normalization's backward pass: from ∂L/∂[A; P] (`dAll` [W, d]) writes ∂L/∂x (`dx`, the raw
 * features' layout) and ∂L/∂p (`dp` [K, d]). With r = 1/max(‖x‖, 1e-12) and â = x·r:
 * ∂L/∂x = r·(g − â(â·g)) above the floor, r·g at it (r is then a constant), g without normalization.
 */
function supConNormalizeBackwardRows(dAll: Float32Array, x: Float32Array, p: Float32Array | null, l: Layout, dx: Float32Array, dp: Float32Array | null): void {
  const w = l.n * l.views + l.k;
  const d = l.d;
  for (let r = 0; r < w; r++) {
    const { src, offset } = source(r, l);
    const values = src === 0 ? x : (p as Float32Array);
    const out = src === 0 ? dx : (dp as Float32Array);
    const g = r * d;
    if (!l.normalize) {
      for (let j = 0; j < d; j++) out[offset + j] = dAll[g + j] as number;
      continue;
    }
    let s = 0;
    for (let j = 0; j < d; j++) s += (values[offset + j] as number) ** 2;
    const inv = 1 / Math.sqrt(Math.max(s, 1e-24));
    let dot = 0;
    if (s >= 1e-24) for (let j = 0; j < d; j++) dot += (values[offset + j] as number) * inv * (dAll[g + j] as number);
    for (let j = 0; j < d; j++) out[offset + j] = inv * ((dAll[g + j] as number) - (values[offset + j] as number) * inv * dot);
  }
}

let scratch = new Float64Array(0);

/** A reused float64 array of `m` entries (its contents are whatever the last caller left). */
function scratchRows(m: number): Float64Array {
  if (scratch.length < m) scratch = new Float64Array(m);
  return scratch.subarray(0, m);
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}
interface CpuLike {
  data: { get(id: object): { values: Float32Array | Int32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/**
 * Runs `body` on host views of `inputs` and of fresh float32 outputs of `shapes`, on the active backend
 * (wasm: heap views taken after the last allocation; cpu: new arrays handed to the backend).
 */
function hostKernel(backend: object, inputs: tf.TensorInfo[], shapes: number[][], body: (ins: Float32Array[], outs: Float32Array[]) => void): tf.TensorInfo[] {
  if (tf.getBackend() === 'wasm') {
    const b = backend as WasmLike;
    const outs = shapes.map((shape) => b.makeOutput(shape, 'float32'));
    body(
      inputs.map((t) => b.typedArrayFromHeap(t) as Float32Array),
      outs.map((t) => b.typedArrayFromHeap(t) as Float32Array),
    );
    return outs;
  }
  const b = backend as CpuLike;
  const outs = shapes.map((shape) => new Float32Array(shape.reduce((p, d) => p * d, 1)));
  body(
    inputs.map((t) => b.data.get(t.dataId).values as Float32Array),
    outs,
  );
  return outs.map((values, i) => b.makeTensorInfo(shapes[i] as number[], 'float32', values));
}

/** Preparation kernel. Inputs: x float32 [N, V, d] or [N, d], p [K, d] (optional). Outputs: scaled A/T [M, d], [A; P]ᵀ [d, W], [A; P] [W, d]. */
function prepareKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const l = attrs as unknown as Layout & { invT32: number };
  const m = l.n * l.views;
  const w = m + l.k;
  const ins = [inputs['x'] as tf.TensorInfo, ...(l.k > 0 ? [inputs['p'] as tf.TensorInfo] : [])];
  return hostKernel(backend, ins, [[m, l.d], [l.d, w], [w, l.d]], ([x, p], [scaled, allT, all]) =>
    supConPrepareRows(x as Float32Array, p ?? null, l, l.invT32, all as Float32Array, allT as Float32Array, scaled as Float32Array),
  );
}

/** Forward kernel. Inputs: sim float32 [M, W]. Outputs: loss [M], exponentials e [M, W], coefficients (cp, cs) [M, 2]. */
function forwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const sim = inputs['sim'] as tf.TensorInfo;
  const [m, w] = sim.shape as [number, number];
  return hostKernel(backend, [sim], [[m], [m, w], [m, 2]], ([s], [loss, exps, coef]) =>
    supConForwardRows(s as Float32Array, m, attrs as unknown as ForwardAttrs, loss as Float32Array, exps as Float32Array, coef as Float32Array),
  );
}

/** Backward kernel. Inputs: e float32 [M, W], (cp, cs) [M, 2], dy [M]. Output: H [W, W]. */
function backwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const exps = inputs['exps'] as tf.TensorInfo;
  const w = exps.shape[1] as number;
  return hostKernel(backend, [exps, inputs['coef'] as tf.TensorInfo, inputs['dy'] as tf.TensorInfo], [[w, w]], ([e, c, d], [h]) =>
    supConBackwardRows(e as Float32Array, c as Float32Array, d as Float32Array, attrs as unknown as BackwardAttrs, h as Float32Array),
  );
}

/** Normalization backward kernel. Inputs: dAll float32 [W, d], x, p (optional). Outputs: dx (x's shape), dp [K, d] when K > 0. */
function normalizeBackwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const l = attrs as unknown as Layout;
  const x = inputs['x'] as tf.TensorInfo;
  const ins = [inputs['dAll'] as tf.TensorInfo, x, ...(l.k > 0 ? [inputs['p'] as tf.TensorInfo] : [])];
  const shapes = l.k > 0 ? [x.shape, [l.k, l.d]] : [x.shape];
  return hostKernel(backend, ins, shapes, ([dAll, xs, p], [dx, dp]) => supConNormalizeBackwardRows(dAll as Float32Array, xs as Float32Array, p ?? null, l, dx as Float32Array, dp ?? null));
}

const KERNELS: readonly [string, (args: KernelArgs) => tf.TensorInfo[]][] = [
  [SUPCON_PREPARE_KERNEL, prepareKernel],
  [SUPCON_FORWARD_KERNEL, forwardKernel],
  [SUPCON_BACKWARD_KERNEL, backwardKernel],
  [SUPCON_NORMALIZE_BACKWARD_KERNEL, normalizeBackwardKernel],
];

/** Registers the fused kernels for `backend` once (no-op when already there). */
function ensureKernels(backend: 'cpu' | 'wasm'): void {
  for (const [kernelName, kernelFunc] of KERNELS) {
    if (tf.getKernel(kernelName, backend) === undefined) tf.registerKernel({ kernelName, backendName: backend, kernelFunc: kernelFunc as tf.KernelFunc });
  }
}

/** Whether {@link supervisedContrastive} routes through the fused op (internal switch). */
let fusedEnabled = true;

/** Turns routing through the fused op on or off (internal: tests compare both paths); returns the previous setting. */
export function setFusedSupCon(on: boolean): boolean {
  const previous = fusedEnabled;
  fusedEnabled = on;
  return previous;
}

/** True when the fused op is enabled and can run on the active backend (cpu, or wasm with the expected internals). */
export function fusedSupConAvailable(): boolean {
  return fusedEnabled && hostMemory() !== null;
}

/**
 * Per-anchor SupCon values ℓ [M] from raw features x [N, V, d] (or [N, d]) and raw contrast entries
 * p [K, d] (or null), normalized inside when `normalize` (â = x / max(‖x‖, 1e-12)), differentiable with
 * respect to both (one tape op; see the module comment for the formulas). Only on cpu and wasm
 * ({@link fusedSupConAvailable}); needs M + K ≥ 2; inputs are not validated here (supervisedContrastive
 * validates them first).
 *
 * @returns float32 [M] in view-major anchor order, owned by the caller.
 */
export function fusedSupCon(features: tf.Tensor2D | tf.Tensor3D, contrast: tf.Tensor2D | null, options: FusedSupConOptions): tf.Tensor1D {
  const backend = tf.getBackend();
  if (backend !== 'cpu' && backend !== 'wasm') throw new Error(`fused SupCon runs on cpu or wasm, not ${backend}`);
  ensureKernels(backend);
  const n = features.shape[0];
  const views = features.shape.length === 3 ? (features.shape[1] as number) : 1;
  const layout: Layout = { n, views, d: features.shape[features.shape.length - 1] as number, k: contrast === null ? 0 : contrast.shape[0], normalize: options.normalize };
  const m = n * views;
  const invT = 1 / options.temperature;
  const forwardAttrs: ForwardAttrs = { ids: options.ids, contrastIds: options.contrastIds, scale: options.scale, bound: options.normalize ? invT : null };
  const backwardAttrs: BackwardAttrs = { ids: options.ids, contrastIds: options.contrastIds, invT };
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const x = args[0] as tf.Tensor;
    const p = contrast === null ? null : (args[1] as tf.Tensor2D);
    const [scaled, allT, all] = tf.engine().runKernel(SUPCON_PREPARE_KERNEL, p === null ? { x } : { x, p }, { ...layout, invT32: Math.fround(invT) } as unknown as tf.NamedAttrMap) as unknown as tf.Tensor2D[];
    // The op composition's product (scaled anchors times the transposed set): the same S from the same rows.
    const sim = tf.matMul(scaled as tf.Tensor2D, allT as tf.Tensor2D);
    const [loss, exps, coef] = tf.engine().runKernel(SUPCON_FORWARD_KERNEL, { sim }, forwardAttrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor1D, tf.Tensor2D, tf.Tensor2D];
    save(p === null ? [x, all as tf.Tensor2D, exps, coef] : [x, all as tf.Tensor2D, exps, coef, p]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sAll, sExps, sCoef, sp] = saved as [tf.Tensor, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D | undefined];
        const [h] = tf.engine().runKernel(SUPCON_BACKWARD_KERNEL, { exps: sExps, coef: sCoef, dy: tf.reshape(dy, [m]) }, backwardAttrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor2D[];
        const dAll = tf.matMul(h as tf.Tensor2D, sAll);
        const inputs = sp === undefined ? { dAll, x: sx } : { dAll, x: sx, p: sp };
        return tf.engine().runKernel(SUPCON_NORMALIZE_BACKWARD_KERNEL, inputs, layout as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (contrast === null ? op(features) : op(features, contrast)) as tf.Tensor1D;
}
