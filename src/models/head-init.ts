/**
 * Head initialisation from frozen features (LIFT+, Shi et al., official shijxcs/LIFT-plus `trainer.py`
 * `classifier_init`): `class_mean` (each class vector from the mean feature of its class) and
 * `linear_probing` (each class vector from a class-balanced logistic regression fitted first).
 */
import * as tf from '@tensorflow/tfjs';
import { LongTailError, invalid } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkInteger, checkLabels, checkPositive, checkSameSize } from '../core/validate.js';
import type { LabeledData } from '../data/types.js';
import type { CosineHead, LinearHead } from './heads.js';

/** A head whose class vectors can be set from features: linear or cosine. */
export type InitializableHead = LinearHead | CosineHead;

/** Options of {@link initFromClassMeans}. */
export interface ClassMeansInitOptions {
  /**
   * Linear heads: `false` sets w_c = μ_c and b_c = −½‖μ_c‖² (the nearest-class-mean classifier in
   * Euclidean distance, exactly, when the head has a bias); `true` sets w_c = μ_c / ‖μ_c‖ and b = 0 (LIFT+'s
   * `init_classifier_weight`). Cosine heads always get unit vectors (only directions matter).
   * @defaultValue false
   */
  readonly normalize?: boolean;
}

/** Options of {@link initFromLinearProbe}. */
export interface LinearProbeInitOptions {
  /** Inverse L2 strength C of the probe (scikit-learn's `C`). @defaultValue 1 */
  readonly inverseRegularization?: number;
  /** L-BFGS iterations. @defaultValue 100 (LIFT+'s `max_iter=100`) */
  readonly maxIterations?: number;
  /** Stop when the largest gradient entry falls below this. @defaultValue 1e-4 (scikit-learn's `tol`) */
  readonly tolerance?: number;
  /**
   * Linear heads: `false` sets W and b to the probe's coefficients and intercepts (the fitted probe
   * exactly); `true` sets unit-norm coefficient vectors and b = 0 (LIFT+). Cosine heads always get unit vectors.
   * @defaultValue false
   */
  readonly normalize?: boolean;
}

/** The fitted probe: coefficients [C][D] (row c = class c) and intercepts [C], float64. */
export interface LinearProbe {
  readonly coef: Float64Array[];
  readonly intercept: Float64Array;
  /** L-BFGS iterations run. */
  readonly iterations: number;
}

const CLASS_MEANS_KEYS: OptionKeys<ClassMeansInitOptions> = { normalize: true };
const PROBE_KEYS: OptionKeys<LinearProbeInitOptions> = { inverseRegularization: true, maxIterations: true, tolerance: true, normalize: true };

/** Features on the host: x row-major [N, D], labels y, and the sizes. */
export interface HostFeatures {
  readonly x: ArrayLike<number>;
  readonly y: Int32Array;
  readonly n: number;
  readonly d: number;
  readonly c: number;
}

function checkHead(head: InitializableHead): void {
  if (head === null || typeof head !== 'object' || (head.kind !== 'linear' && head.kind !== 'cosine')) {
    throw invalid('INVALID_OPTION', 'head to be a linear or cosine head', 'head.kind', (head as { kind?: unknown } | null)?.kind);
  }
}

/** Validates the head and data (before any tensor is made) and reads the features to the host. */
function hostFeatures(head: InitializableHead, data: LabeledData): HostFeatures {
  checkHead(head);
  if (data === null || typeof data !== 'object' || !(data.x instanceof tf.Tensor) || data.x.isDisposed) {
    throw invalid('INVALID_OPTION', 'data to be { x: live features tensor [N, D], y: Int32Array }', 'data.x', typeof data?.x);
  }
  const [n, d] = data.x.shape;
  if (data.x.rank !== 2 || d !== head.inputDim) {
    throw new LongTailError('SHAPE_MISMATCH', `expected data.x of shape [N, ${head.inputDim}]. Received: data.x.shape=[${data.x.shape.join(', ')}]`, { name: 'data.x' });
  }
  checkSameSize('labels length = rows of data.x', n as number, 'data.y.length', data.y?.length ?? 0);
  const y = checkLabels('data.y', data.y, head.numClasses);
  return { x: data.x.dataSync() as Float32Array, y, n: n as number, d: d as number, c: head.numClasses };
}

/** Writes class vectors (rows [C][D]) and optional biases into the head's kernel [D, C] and bias. */
function assignHead(head: InitializableHead, rows: readonly Float64Array[], bias: Float64Array | null): void {
  const d = head.inputDim;
  const c = head.numClasses;
  const kernel = new Float32Array(d * c);
  for (let j = 0; j < c; j++) for (let k = 0; k < d; k++) kernel[k * c + j] = (rows[j] as Float64Array)[k] as number;
  tf.tidy(() => head.kernel.assign(tf.tensor2d(kernel, [d, c])));
  const b = head.kind === 'linear' ? head.bias : null;
  if (b !== null) tf.tidy(() => b.assign(tf.tensor1d(bias === null ? new Float32Array(c) : Float32Array.from(bias))));
}

/** Row / ‖row‖ with PyTorch `F.normalize`'s max(‖·‖, 1e-12). */
function unit(row: Float64Array): Float64Array {
  let s = 0;
  for (const v of row) s += v * v;
  const norm = Math.max(Math.sqrt(s), 1e-12);
  return row.map((v) => v / norm);
}

/**
 * Sets a head's class vectors from the class means of frozen features (LIFT+'s `class_mean`):
 * μ_c = mean of the features of class c; cosine heads get w_c = μ_c / ‖μ_c‖ (LIFT+); linear heads get
 * w_c = μ_c, b_c = −½‖μ_c‖², so argmax_c (x·w_c + b_c) = argmin_c ‖x − μ_c‖² (the nearest-class-mean
 * classifier), or LIFT+'s unit vectors and b = 0 with `normalize: true`. A class absent from `data`
 * keeps its current vector (and bias). Reads the features to the host once; makes no lasting tensor.
 *
 * @throws LongTailError before any tensor is made: `INVALID_OPTION` (not a linear/cosine head, bad
 *   option), `SHAPE_MISMATCH` (features not [N, D]), `LABEL_OUT_OF_RANGE`.
 * @example
 * ```ts
 * initFromClassMeans(head, { x: features, y: labels });   // head now predicts as nearest class mean
 * ```
 */
export function initFromClassMeans(head: InitializableHead, data: LabeledData, options: ClassMeansInitOptions = {}): void {
  checkOptions('initFromClassMeans options', options, CLASS_MEANS_KEYS);
  const normalize = options.normalize ?? false;
  if (typeof normalize !== 'boolean') throw invalid('INVALID_OPTION', 'normalize to be a boolean', 'normalize', normalize);
  const h = hostFeatures(head, data);
  const sums = Array.from({ length: h.c }, () => new Float64Array(h.d));
  const counts = new Float64Array(h.c);
  for (let i = 0; i < h.n; i++) {
    const row = sums[h.y[i] as number] as Float64Array;
    counts[h.y[i] as number] = (counts[h.y[i] as number] as number) + 1;
    for (let k = 0; k < h.d; k++) row[k] = (row[k] as number) + (h.x[i * h.d + k] as number);
  }
  const current = readHead(head);
  const rows: Float64Array[] = [];
  const bias = Float64Array.from(current.bias ?? new Float64Array(h.c));
  const exact = head.kind === 'linear' && !normalize;
  for (let j = 0; j < h.c; j++) {
    if (counts[j] === 0) {
      rows.push(current.rows[j] as Float64Array);
      continue;
    }
    const mean = (sums[j] as Float64Array).map((v) => v / (counts[j] as number));
    rows.push(exact ? mean : unit(mean));
    bias[j] = exact ? -0.5 * mean.reduce((a, v) => a + v * v, 0) : 0;
  }
  assignHead(head, rows, bias);
}

/** The head's class vectors [C][D] and bias as float64 host copies. */
function readHead(head: InitializableHead): { rows: Float64Array[]; bias: Float64Array | null } {
  const d = head.inputDim;
  const c = head.numClasses;
  const k = head.kernel.dataSync();
  const rows = Array.from({ length: c }, (_, j) => Float64Array.from({ length: d }, (_, r) => k[r * c + j] as number));
  const b = head.kind === 'linear' ? head.bias : null;
  return { rows, bias: b === null ? null : Float64Array.from(b.dataSync()) };
}

/**
 * Fits the balanced linear probe of LIFT+'s `linear_probing` init: scikit-learn's
 * `LogisticRegression(solver='lbfgs', penalty='l2', class_weight='balanced')`, i.e. the minimiser of
 *
 *   ½‖W‖²_F + C_reg · Σ_i s_{y_i} · CE(W x_i + b, y_i),   s_c = N / (K · n_c),
 *
 * over W [C, D] and b [C] (the intercept is not penalised; K = the number of classes present), by
 * L-BFGS (memory 10, backtracking line search) in float64. A class absent from the data is pushed
 * down only through the softmax of the others. Host-only: no tensors.
 *
 * @throws LongTailError `INVALID_OPTION` for a bad option, before any work.
 */
export function fitLinearProbe(h: HostFeatures, options: LinearProbeInitOptions = {}): LinearProbe {
  return fitProbe(h, resolveProbe('linear probe options', options));
}

interface ProbeSettings {
  readonly cReg: number;
  readonly maxIterations: number;
  readonly tolerance: number;
  readonly normalize: boolean;
}

function resolveProbe(where: string, options: LinearProbeInitOptions): ProbeSettings {
  checkOptions(where, options, PROBE_KEYS);
  const normalize = options.normalize ?? false;
  if (typeof normalize !== 'boolean') throw invalid('INVALID_OPTION', 'normalize to be a boolean', 'normalize', normalize);
  return {
    cReg: checkPositive('inverseRegularization', options.inverseRegularization ?? 1),
    maxIterations: checkInteger('maxIterations', options.maxIterations ?? 100, { min: 1 }),
    tolerance: checkPositive('tolerance', options.tolerance ?? 1e-4),
    normalize,
  };
}

function fitProbe(h: HostFeatures, settings: ProbeSettings): LinearProbe {
  const { cReg, maxIterations, tolerance } = settings;
  const { x, y, n, d, c } = h;
  const counts = new Float64Array(c);
  for (let i = 0; i < n; i++) counts[y[i] as number] = (counts[y[i] as number] as number) + 1;
  const present = counts.reduce((a, v) => a + (v > 0 ? 1 : 0), 0);
  const sampleWeight = Float64Array.from(y, (label) => n / (present * (counts[label] as number)));
  const size = c * d + c;
  const logits = new Float64Array(c);
  // f(θ) and ∇f(θ); θ = [W row-major (C×D), b (C)].
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let f = 0;
    for (let j = 0; j < c * d; j++) {
      const w = theta[j] as number;
      f += 0.5 * w * w;
      grad[j] = w;
    }
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let j = 0; j < c; j++) {
        let z = theta[c * d + j] as number;
        for (let k = 0; k < d; k++) z += (theta[j * d + k] as number) * (x[i * d + k] as number);
        logits[j] = z;
        if (z > max) max = z;
      }
      let sum = 0;
      for (let j = 0; j < c; j++) sum += Math.exp((logits[j] as number) - max);
      const lse = max + Math.log(sum);
      const s = cReg * (sampleWeight[i] as number);
      f += s * (lse - (logits[y[i] as number] as number));
      for (let j = 0; j < c; j++) {
        const g = s * (Math.exp((logits[j] as number) - lse) - (j === y[i] ? 1 : 0));
        if (g === 0) continue;
        for (let k = 0; k < d; k++) grad[j * d + k] = (grad[j * d + k] as number) + g * (x[i * d + k] as number);
        grad[c * d + j] = (grad[c * d + j] as number) + g;
      }
    }
    return f;
  };
  const { theta, iterations } = lbfgs(objective, new Float64Array(size), { maxIterations, tolerance });
  const coef = Array.from({ length: c }, (_, j) => theta.slice(j * d, (j + 1) * d));
  return { coef, intercept: theta.slice(c * d), iterations };
}

/** Minimises a smooth convex f by L-BFGS (two-loop recursion, memory 10, Armijo backtracking). */
function lbfgs(
  f: (theta: Float64Array, grad: Float64Array) => number,
  start: Float64Array,
  o: { maxIterations: number; tolerance: number },
): { theta: Float64Array; iterations: number } {
  const m = 10;
  const size = start.length;
  let theta = Float64Array.from(start);
  let grad = new Float64Array(size);
  let value = f(theta, grad);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const dot = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
    return s;
  };
  const maxAbs = (a: Float64Array): number => a.reduce((acc, v) => Math.max(acc, Math.abs(v)), 0);
  let it = 0;
  for (; it < o.maxIterations && maxAbs(grad) > o.tolerance; it++) {
    // Two-loop recursion: direction = −H·g.
    const q = Float64Array.from(grad);
    const alphas: number[] = [];
    for (let k = sList.length - 1; k >= 0; k--) {
      const s = sList[k] as Float64Array;
      const yk = yList[k] as Float64Array;
      const a = dot(s, q) / dot(yk, s);
      alphas[k] = a;
      for (let i = 0; i < size; i++) q[i] = (q[i] as number) - a * (yk[i] as number);
    }
    if (sList.length > 0) {
      const s = sList[sList.length - 1] as Float64Array;
      const yk = yList[yList.length - 1] as Float64Array;
      const gamma = dot(s, yk) / dot(yk, yk);
      for (let i = 0; i < size; i++) q[i] = (q[i] as number) * gamma;
    } else {
      // First step: a unit-length step along −g.
      const norm = Math.sqrt(dot(grad, grad));
      for (let i = 0; i < size; i++) q[i] = (q[i] as number) / Math.max(norm, 1);
    }
    for (let k = 0; k < sList.length; k++) {
      const s = sList[k] as Float64Array;
      const yk = yList[k] as Float64Array;
      const b = dot(yk, q) / dot(yk, s);
      for (let i = 0; i < size; i++) q[i] = (q[i] as number) + (s[i] as number) * ((alphas[k] as number) - b);
    }
    const direction = q.map((v) => -v);
    const slope = dot(grad, direction);
    let step = 1;
    const next = new Float64Array(size);
    const nextGrad = new Float64Array(size);
    let nextValue = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < size; i++) next[i] = (theta[i] as number) + step * (direction[i] as number);
      nextValue = f(next, nextGrad);
      if (nextValue <= value + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(nextValue < value) && !(nextValue <= value)) break;
    const s = next.map((v, i) => v - (theta[i] as number));
    const yk = nextGrad.map((v, i) => v - (grad[i] as number));
    if (dot(s, yk) > 1e-12) {
      sList.push(s);
      yList.push(yk);
      if (sList.length > m) {
        sList.shift();
        yList.shift();
      }
    }
    theta = Float64Array.from(next);
    grad = Float64Array.from(nextGrad);
    if (Math.abs(value - nextValue) <= 1e-15 * Math.max(1, Math.abs(value))) {
      value = nextValue;
      it++;
      break;
    }
    value = nextValue;
  }
  return { theta, iterations: it };
}

/**
 * Sets a head's class vectors from a class-balanced logistic-regression probe fitted on frozen features
 * first (LIFT+'s `linear_probing`; see `fitLinearProbe` for the objective): linear heads get the
 * probe's coefficients and intercepts (or LIFT+'s unit coefficient vectors and b = 0 with
 * `normalize: true`); cosine heads get unit coefficient vectors (LIFT+). Deterministic (no random
 * choice); reads the features to the host once; makes no lasting tensor.
 *
 * @returns the fitted probe.
 * @throws LongTailError before any tensor is made: `INVALID_OPTION`, `SHAPE_MISMATCH`, `LABEL_OUT_OF_RANGE`.
 * @example
 * ```ts
 * initFromLinearProbe(head, { x: features, y: labels });
 * ```
 */
export function initFromLinearProbe(head: InitializableHead, data: LabeledData, options: LinearProbeInitOptions = {}): LinearProbe {
  const settings = resolveProbe('initFromLinearProbe options', options);
  const h = hostFeatures(head, data);
  const probe = fitProbe(h, settings);
  const exact = head.kind === 'linear' && !settings.normalize;
  assignHead(head, exact ? probe.coef : probe.coef.map(unit), exact ? probe.intercept : null);
  return probe;
}
