/**
 * Exact optimal transport (the earth mover's distance) by the network simplex method, POT's `ot.emd` /
 * `ot.emd2`, for small problems (the pricing scans all n·m pairs each pivot).
 */
import * as tf from '@tensorflow/tfjs';
import { invalid, LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkInteger } from '../core/validate.js';
import { asRows, type CostMatrix, type Histogram, readCost, readHistogram, support } from './ot-input.js';

/** Options of {@link emd}. */
export interface EmdOptions {
  /** Pivots before giving up (POT's `numItermax`); the plan is then feasible but maybe not optimal. @defaultValue 100000 */
  readonly maxIterations?: number;
  /** Also return the plan as a float32 `tf.Tensor2D` (`result.planTensor`, owned by the caller). @defaultValue false */
  readonly planTensor?: boolean;
}

const KEYS: OptionKeys<EmdOptions> = { maxIterations: true, planTensor: true };

/** The result of {@link emd}. */
export interface EmdResult {
  /** The optimal plan as rows (`plan[i][j]`, float64 views of one row-major buffer); zero-mass bins and forbidden pairs are 0. */
  readonly plan: Float64Array[];
  /** The plan as a float32 tensor [n, m], only when `planTensor: true`; the caller disposes it. */
  readonly planTensor?: tf.Tensor2D;
  /** ⟨P, M⟩, the optimal transport cost (POT's `ot.emd2`). */
  readonly cost: number;
  /**
   * Dual potentials: u_i + v_j ≤ M_ij everywhere, with equality on the pairs the plan uses, and
   * Σ a_i u_i + Σ b_j v_j = cost. Centred as POT's `center_ot_dual` (so they equal POT's `log['u']`,
   * `log['v']` when the problem is non-degenerate; otherwise duals are not unique). Zero-mass bins get
   * the largest feasible value, u_i = min_j (M_ij − v_j).
   */
  readonly u: Float64Array;
  readonly v: Float64Array;
  /** Network-simplex pivots made. */
  readonly iterations: number;
  /** False when `maxIterations` stopped the solver (POT's `MAX_ITER_REACHED`). */
  readonly optimal: boolean;
}

/**
 * Exact OT between histograms `a` and `b` with cost `M`: min ⟨P, M⟩ over P ≥ 0 with P1 = a, Pᵀ1 = b.
 * Same inputs as {@link sinkhorn}: `M` a `tf.Tensor2D`, nested rows or `{ values, rows, cols }`
 * (`+Infinity` forbids a pair); `a`, `b` omitted for uniform, zero entries allowed. As in POT, the masses
 * must agree to 1e-6 (relative here) and `b` is rescaled to the mass of `a`.
 *
 * The network simplex (Dantzig 1951; Ahuja, Magnanti & Orlin, "Network Flows", ch. 11) starts from an
 * artificial root joined to every node by arcs of cost (max|M| + 1)·(n + m + 1), as LEMON (POT's solver)
 * does, enters the pair of most negative reduced cost, and keeps the spanning tree strongly feasible
 * (Cunningham 1976: the leaving arc is the last blocking arc of the cycle from its apex), so degenerate
 * problems (e.g. uniform marginals of equal size) cannot cycle.
 *
 * @example
 * ```ts
 * // POT: G = ot.emd(a, b, M); W = ot.emd2(a, b, M)
 * const { plan, cost } = emd(a, b, M);
 * ```
 * @throws LongTailError `UNKNOWN_OPTION`, `INVALID_OPTION` (unequal masses, a bin with mass whose pairs
 *   are all forbidden), `SHAPE_MISMATCH`, `NON_FINITE`, `DTYPE_MISMATCH`, `DISPOSED` before any work;
 *   `INVALID_OPTION` when the forbidden pairs leave no feasible plan.
 */
export function emd(a: Histogram, b: Histogram, M: CostMatrix, options?: EmdOptions): EmdResult {
  const o = checkOptions('emd options', options, KEYS);
  const maxIterations = checkInteger('maxIterations', o.maxIterations ?? 100000, { min: 0 });
  const wantTensor = o.planTensor ?? false;
  if (typeof wantTensor !== 'boolean') throw invalid('INVALID_OPTION', 'planTensor to be a boolean', 'planTensor', wantTensor);
  const cost = readCost('M', M, { allowInfinity: true });
  const n = cost.rows;
  const m = cost.cols;
  const wa = readHistogram('a', a, n, 'M.rows');
  const wb = readHistogram('b', b, m, 'M.cols');
  const sa = wa.reduce((s, x) => s + x, 0);
  const sb = wb.reduce((s, x) => s + x, 0);
  if (Math.abs(sa - sb) > 1e-6 * Math.max(sa, sb)) {
    throw new LongTailError('INVALID_OPTION', `expected a and b to have the same total mass (to 1e-6 relative). Received: sum(a)=${sa}, sum(b)=${sb}`, { sumA: sa, sumB: sb });
  }
  const scaledB = Float64Array.from(wb, (x) => (x * sa) / sb);
  const rowIdx = support(wa);
  const colIdx = support(scaledB);
  for (const i of rowIdx) {
    if (!Array.from(colIdx).some((j) => Number.isFinite(cost.values[i * m + j] as number))) {
      throw new LongTailError('INVALID_OPTION', `expected row ${i} of M (a[${i}] > 0) to allow a pair: a finite cost to some column with b > 0. Received: every such pair is +Infinity`, { name: 'M', row: i });
    }
  }
  for (const j of colIdx) {
    if (!Array.from(rowIdx).some((i) => Number.isFinite(cost.values[i * m + j] as number))) {
      throw new LongTailError('INVALID_OPTION', `expected column ${j} of M (b[${j}] > 0) to allow a pair: a finite cost to some row with a > 0. Received: every such pair is +Infinity`, { name: 'M', col: j });
    }
  }

  const solved = networkSimplex(cost.values, m, rowIdx, colIdx, wa, scaledB, maxIterations);
  const flat = new Float64Array(n * m);
  let total = 0;
  solved.flows.forEach((x, q) => {
    if (x === 0) return;
    flat[q] = x;
    total += x * (cost.values[q] as number);
  });
  const { u, v } = duals(cost.values, n, m, rowIdx, colIdx, solved.u, solved.v, wa, scaledB);
  const result: EmdResult = { plan: asRows(flat, n, m), cost: total, u, v, iterations: solved.iterations, optimal: solved.optimal };
  return wantTensor ? { ...result, planTensor: tf.tensor2d(Float32Array.from(flat), [n, m]) } : result;
}

interface Solved {
  /** Flow per cell of the full n × m matrix (sparse: only basic cells). */
  readonly flows: Map<number, number>;
  /** Duals on the support rows / columns (u_i + v_j ≤ M_ij, tight on basic cells). */
  readonly u: Float64Array;
  readonly v: Float64Array;
  readonly iterations: number;
  readonly optimal: boolean;
}

/**
 * Network simplex on the support: nodes 0 (artificial root), 1..n (rows), n+1..n+m (columns); arcs
 * row → column (cost M_ij, uncapacitated) and the artificial row → root, root → column arcs.
 */
function networkSimplex(
  M: Float64Array,
  fullCols: number,
  rowIdx: Int32Array,
  colIdx: Int32Array,
  a: Float64Array,
  b: Float64Array,
  maxIterations: number,
): Solved {
  const n = rowIdx.length;
  const m = colIdx.length;
  const nodes = n + m + 1;
  const cell = (r: number, c: number): number => (rowIdx[r] as number) * fullCols + (colIdx[c] as number);
  // The support's costs, contiguous (the pricing loop reads them every pivot).
  const cost = new Float64Array(n * m);
  let maxAbs = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < m; c++) {
      const x = M[cell(r, c)] as number;
      cost[r * m + c] = x;
      if (Number.isFinite(x)) maxAbs = Math.max(maxAbs, Math.abs(x));
    }
  }
  const artificial = (maxAbs + 1) * nodes;
  // The basis: n + m arcs, a spanning tree of the n + m + 1 nodes.
  const size = n + m;
  const from = new Int32Array(size);
  const to = new Int32Array(size);
  const flow = new Float64Array(size);
  const arcCost = new Float64Array(size);
  /** Real arc: r·m + c; artificial: −1. */
  const arcCell = new Int32Array(size);
  for (let r = 0; r < n; r++) {
    from[r] = 1 + r;
    to[r] = 0;
    flow[r] = a[rowIdx[r] as number] as number;
    arcCost[r] = artificial;
    arcCell[r] = -1;
  }
  for (let c = 0; c < m; c++) {
    from[n + c] = 0;
    to[n + c] = 1 + n + c;
    flow[n + c] = b[colIdx[c] as number] as number;
    arcCost[n + c] = artificial;
    arcCell[n + c] = -1;
  }
  const inBasis = new Uint8Array(n * m);
  const parent = new Int32Array(nodes);
  const parentArc = new Int32Array(nodes);
  const depth = new Int32Array(nodes);
  const pi = new Float64Array(nodes);
  const head = new Int32Array(nodes);
  const next = new Int32Array(2 * size);
  const queue = new Int32Array(nodes);
  const seen = new Uint8Array(nodes);

  /** Rebuilds parent / depth from the root, then the potentials (π_from − π_to = cost on tree arcs) from node 1. */
  const rebuild = (): void => {
    head.fill(-1);
    for (let e = 0; e < size; e++) {
      next[2 * e] = head[from[e] as number] as number;
      head[from[e] as number] = 2 * e;
      next[2 * e + 1] = head[to[e] as number] as number;
      head[to[e] as number] = 2 * e + 1;
    }
    for (const root of [0, 1]) {
      seen.fill(0);
      seen[root] = 1;
      queue[0] = root;
      if (root === 0) {
        parent[0] = -1;
        parentArc[0] = -1;
        depth[0] = 0;
      } else {
        pi[1] = 0;
      }
      for (let qh = 0, qt = 1; qh < qt; qh++) {
        const x = queue[qh] as number;
        for (let h = head[x] as number; h !== -1; h = next[h] as number) {
          const e = h >> 1;
          const y = (h & 1) === 0 ? (to[e] as number) : (from[e] as number);
          if (seen[y] === 1) continue;
          seen[y] = 1;
          queue[qt++] = y;
          if (root === 0) {
            parent[y] = x;
            parentArc[y] = e;
            depth[y] = (depth[x] as number) + 1;
          } else {
            pi[y] = (h & 1) === 0 ? (pi[x] as number) - (arcCost[e] as number) : (pi[x] as number) + (arcCost[e] as number);
          }
        }
      }
    }
  };

  const tolerance = 1e-12 * (maxAbs + 1) * nodes;
  const down: number[] = [];
  const up: number[] = [];
  let iterations = 0;
  let optimal = false;
  rebuild();
  for (;;) {
    // Pricing: the real arc of most negative reduced cost M_ij − π_i + π_j.
    let best = -tolerance;
    let enterR = -1;
    let enterC = -1;
    const piCol = pi.subarray(1 + n);
    for (let r = 0; r < n; r++) {
      const pr = pi[1 + r] as number;
      const o = r * m;
      for (let c = 0; c < m; c++) {
        // Basic cells price at 0 and forbidden ones at +∞: neither can beat `best` < 0.
        const red = (cost[o + c] as number) - pr + (piCol[c] as number);
        if (red < best && inBasis[o + c] === 0) {
          best = red;
          enterR = r;
          enterC = c;
        }
      }
    }
    if (enterR === -1) {
      optimal = true;
      break;
    }
    if (iterations >= maxIterations) break;
    iterations++;
    const k = 1 + enterR;
    const l = 1 + n + enterC;
    // Apex w of the cycle; `down` lists the tree arcs w ⇒ k in traversal order, `up` those l ⇒ w.
    let x = k;
    let y = l;
    up.length = 0;
    const kSide: number[] = [];
    while (x !== y) {
      if ((depth[x] as number) >= (depth[y] as number)) {
        kSide.push(parentArc[x] as number);
        x = parent[x] as number;
      } else {
        up.push(parentArc[y] as number);
        y = parent[y] as number;
      }
    }
    down.length = 0;
    for (let q = kSide.length - 1; q >= 0; q--) down.push(kSide[q] as number);
    // An arc is traversed against its direction ("backward", its flow decreases) when, going down from
    // the apex, it points up (from = child), or, going up to the apex, it points down (from = parent).
    let theta = Infinity;
    let leaving = -1;
    const consider = (e: number, backward: boolean): void => {
      if (!backward) return;
      const f = flow[e] as number;
      // ≤ keeps the last blocking arc in traversal order (Cunningham's rule).
      if (f <= theta) {
        theta = f;
        leaving = e;
      }
    };
    // Down segment: the child of arc e is the endpoint farther from the root.
    const isFromChild = (e: number): boolean => (depth[from[e] as number] as number) > (depth[to[e] as number] as number);
    for (const e of down) consider(e, isFromChild(e));
    for (const e of up) consider(e, !isFromChild(e));
    // Every cycle has a backward arc (the root's arcs point into columns and out of rows).
    for (const e of down) flow[e] = (flow[e] as number) + (isFromChild(e) ? -theta : theta);
    for (const e of up) flow[e] = (flow[e] as number) + (isFromChild(e) ? theta : -theta);
    const oldCell = arcCell[leaving] as number;
    if (oldCell >= 0) inBasis[oldCell] = 0;
    from[leaving] = k;
    to[leaving] = l;
    flow[leaving] = theta;
    arcCost[leaving] = cost[enterR * m + enterC] as number;
    arcCell[leaving] = enterR * m + enterC;
    inBasis[enterR * m + enterC] = 1;
    rebuild();
  }
  const flows = new Map<number, number>();
  let stranded = 0;
  for (let e = 0; e < size; e++) {
    const f = flow[e] as number;
    const q = arcCell[e] as number;
    if (q < 0) {
      stranded = Math.max(stranded, f);
    } else if (f > 0) {
      flows.set(cell(Math.floor(q / m), q % m), f);
    }
  }
  const mass = a.reduce((s, w) => s + w, 0);
  if (optimal && stranded > 1e-9 * mass) {
    throw new LongTailError('INVALID_OPTION', `expected the forbidden pairs (+Infinity in M) to leave a feasible plan. Received: mass ${stranded} cannot be moved`, { stranded });
  }
  const u = Float64Array.from({ length: n }, (_, r) => pi[1 + r] as number);
  const v = Float64Array.from({ length: m }, (_, c) => -(pi[1 + n + c] as number));
  return { flows, u, v, iterations, optimal };
}

/** Duals on the full problem: zero-mass bins get their tightest feasible value, then POT's centring. */
function duals(
  M: Float64Array,
  n: number,
  m: number,
  rowIdx: Int32Array,
  colIdx: Int32Array,
  uSupport: Float64Array,
  vSupport: Float64Array,
  a: Float64Array,
  b: Float64Array,
): { u: Float64Array; v: Float64Array } {
  const u = new Float64Array(n).fill(Number.NaN);
  const v = new Float64Array(m).fill(Number.NaN);
  rowIdx.forEach((i, r) => (u[i] = uSupport[r] as number));
  colIdx.forEach((j, c) => (v[j] = vSupport[c] as number));
  for (let j = 0; j < m; j++) {
    if (!Number.isNaN(v[j] as number)) continue;
    let best = Infinity;
    for (const i of rowIdx) best = Math.min(best, (M[i * m + j] as number) - (u[i] as number));
    v[j] = best;
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(u[i] as number)) continue;
    let best = Infinity;
    for (let j = 0; j < m; j++) best = Math.min(best, (M[i * m + j] as number) - (v[j] as number));
    u[i] = best;
  }
  let au = 0;
  let bv = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    if ((a[i] as number) > 0) au += (a[i] as number) * (u[i] as number);
    sa += a[i] as number;
  }
  for (let j = 0; j < m; j++) {
    if ((b[j] as number) > 0) bv += (b[j] as number) * (v[j] as number);
    sb += b[j] as number;
  }
  const shift = (bv - au) / (sa + sb);
  return { u: u.map((x) => x + shift), v: v.map((x) => x - shift) };
}
