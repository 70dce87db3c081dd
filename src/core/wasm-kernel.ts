/**
 * A tiny hand-assembled WebAssembly SIMD kernel (f64x2 lanes, four accumulators) with three functions:
 * `dotRows(mat, vec, out, rows, cols, stride)`, out[r] = Σ_c mat[r·stride + c]·vec[c] (mat-vec products
 * for moments, Cholesky, the log-domain Sinkhorn and the typed L·z product), and `sweep`, the fused
 * plain-Sinkhorn pass u = a ⊘ Kv, col = Kᵀu reading each row of K once, and `sweep32`, the same pass
 * on float32 arrays in f32x4 lanes (Sinkhorn's `dtype: 'float32'`). V8 runs them 2–4× faster than
 * the equivalent JS loops. When WebAssembly or SIMD is unavailable, {@link getKernel} returns null and
 * callers use plain loops.
 */

import { BLOCK, BR_IF, EMPTY, END, F32_ADD, F32_DIV, F32_LOAD, F32_MUL, F32_STORE, F32X4_ADD, F32X4_EXTRACT, F32X4_MUL, F32X4_SPLAT, F64X2_ADD, F64X2_EXTRACT, F64X2_MUL, F64X2_SPLAT, F64_ADD, F64_DIV, F64_LOAD, F64_MUL, F64_STORE, I32_ADD, I32_AND, I32_CONST, I32_EQZ, I32_LT_U, I32_MUL, I32_SHL, I32_SHR_U, I32_SUB, LOCAL_GET, LOCAL_SET, LOCAL_TEE, LOOP, V128_CONST, V128_LOAD, V128_STORE, bumpAllocator, instantiateKernel, name, section, sleb, uleb } from './wasm-asm.js';

// Parameters 0..5: mat, vec, out, rows, cols, stride (byte addresses / counts; row r starts at
// mat + r·stride·8). Locals: 6 r, 7 p, 8 q, 9 c (i32); 10..13 acc0..acc3 (v128); 14 s (f64).
const [MAT, VEC, OUT, ROWS, COLS, STRIDE, R, P, Q, C, ACC0, , , , S] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] as const;

function get(i: number): number[] {
  return [LOCAL_GET, i];
}
function set(i: number): number[] {
  return [LOCAL_SET, i];
}
function i32(n: number): number[] {
  return [I32_CONST, ...sleb(n)];
}
function addTo(local: number, n: number): number[] {
  return [...get(local), ...i32(n), I32_ADD, ...set(local)];
}

function dotRowsBody(): number[] {
  const zero = [...V128_CONST, ...new Array<number>(16).fill(0)];
  const accumulate = (k: number): number[] => [
    ...get(ACC0 + k),
    ...get(P),
    ...V128_LOAD, 3, ...uleb(16 * k),
    ...get(Q),
    ...V128_LOAD, 3, ...uleb(16 * k),
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...set(ACC0 + k),
  ];
  const code = [
    BLOCK, EMPTY,
    ...get(ROWS), I32_EQZ, BR_IF, 0,
    LOOP, EMPTY,
    // p = mat + r·cols·8; q = vec; accumulators = 0; c = cols >> 3
    ...get(MAT), ...get(R), ...get(STRIDE), I32_MUL, ...i32(3), I32_SHL, I32_ADD, ...set(P),
    ...get(VEC), ...set(Q),
    ...zero, ...set(ACC0), ...zero, ...set(ACC0 + 1), ...zero, ...set(ACC0 + 2), ...zero, ...set(ACC0 + 3),
    ...get(COLS), ...i32(3), I32_SHR_U, ...set(C),
    BLOCK, EMPTY,
    ...get(C), I32_EQZ, BR_IF, 0,
    LOOP, EMPTY,
    ...accumulate(0), ...accumulate(1), ...accumulate(2), ...accumulate(3),
    ...addTo(P, 64), ...addTo(Q, 64),
    ...get(C), ...i32(1), I32_SUB, LOCAL_TEE, C, BR_IF, 0,
    END,
    END,
    // s = Σ lanes of (acc0 + acc1 + acc2 + acc3)
    ...get(ACC0), ...get(ACC0 + 1), ...F64X2_ADD, ...get(ACC0 + 2), ...F64X2_ADD, ...get(ACC0 + 3), ...F64X2_ADD,
    LOCAL_TEE, ACC0, ...F64X2_EXTRACT, 0, ...get(ACC0), ...F64X2_EXTRACT, 1, F64_ADD, ...set(S),
    // tail: c = cols & 7 scalar steps
    ...get(COLS), ...i32(7), I32_AND, ...set(C),
    BLOCK, EMPTY,
    ...get(C), I32_EQZ, BR_IF, 0,
    LOOP, EMPTY,
    ...get(S), ...get(P), F64_LOAD, 3, 0, ...get(Q), F64_LOAD, 3, 0, F64_MUL, F64_ADD, ...set(S),
    ...addTo(P, 8), ...addTo(Q, 8),
    ...get(C), ...i32(1), I32_SUB, LOCAL_TEE, C, BR_IF, 0,
    END,
    END,
    // out[r] = s; r += 1; continue while r < rows
    ...get(OUT), ...get(R), ...i32(3), I32_SHL, I32_ADD, ...get(S), F64_STORE, 3, 0,
    ...get(R), ...i32(1), I32_ADD, LOCAL_TEE, R, ...get(ROWS), I32_LT_U, BR_IF, 0,
    END,
    END,
    END,
  ];
  const locals = [3, 4, 0x7f, 4, 0x7b, 1, 0x7c];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

// sweep: parameters 0..6 mat, vec, u, a, col, rows, cols; locals 7 r, 8 p, 9 q, 10 c, 11 w (i32);
// 12..15 acc0..acc3, 16 uv (v128); 17 s, 18 ui (f64, or f32 for the float32 sweep).
const SW = { MAT: 0, VEC: 1, U: 2, A: 3, COL: 4, ROWS: 5, COLS: 6, R: 7, P: 8, Q: 9, C: 10, W: 11, ACC0: 12, UV: 16, S: 17, UI: 18 } as const;

/** The opcodes that differ between the float64 (f64x2) and float32 (f32x4) sweeps. */
interface Lanes {
  /** log2 of the element size in bytes (also the alignment hint of scalar loads/stores). */
  readonly shift: number;
  /** log2 of the elements per 64-byte step (four vectors). */
  readonly stepShift: number;
  readonly scalarType: number;
  readonly load: number;
  readonly store: number;
  readonly add: number;
  readonly mul: number;
  readonly div: number;
  readonly vadd: number[];
  readonly vmul: number[];
  readonly splat: number[];
  /** Sum of the lanes of the v128 in local `acc` onto the stack. */
  readonly reduce: (acc: number) => number[];
}

const F64_LANES: Lanes = {
  shift: 3, stepShift: 3, scalarType: 0x7c, load: F64_LOAD, store: F64_STORE, add: F64_ADD, mul: F64_MUL, div: F64_DIV,
  vadd: F64X2_ADD, vmul: F64X2_MUL, splat: F64X2_SPLAT,
  reduce: (acc) => [...get(acc), ...F64X2_EXTRACT, 0, ...get(acc), ...F64X2_EXTRACT, 1, F64_ADD],
};

const F32_LANES: Lanes = {
  shift: 2, stepShift: 4, scalarType: 0x7d, load: F32_LOAD, store: F32_STORE, add: F32_ADD, mul: F32_MUL, div: F32_DIV,
  vadd: F32X4_ADD, vmul: F32X4_MUL, splat: F32X4_SPLAT,
  reduce: (acc) => [...get(acc), ...F32X4_EXTRACT, 0, ...get(acc), ...F32X4_EXTRACT, 1, F32_ADD, ...get(acc), ...F32X4_EXTRACT, 2, F32_ADD, ...get(acc), ...F32X4_EXTRACT, 3, F32_ADD],
};

/**
 * One fused Sinkhorn sweep over the rows of K, so K is read once per iteration (a row is still in L1
 * for its second use): for each row r, s = K_r·v, u_r = a_r / s, then col += u_r·K_r. `lanes` picks
 * float64 (f64x2) or float32 (f32x4, twice the elements per instruction and half the bytes of K).
 */
function sweepBody(lanes: Lanes): number[] {
  const { shift, stepShift } = lanes;
  const size = 1 << shift;
  const zero = [...V128_CONST, ...new Array<number>(16).fill(0)];
  const rowStart = [...get(SW.MAT), ...get(SW.R), ...get(SW.COLS), I32_MUL, ...i32(shift), I32_SHL, I32_ADD, ...set(SW.P)];
  const countdown = (local: number): number[] => [...get(local), ...i32(1), I32_SUB, LOCAL_TEE, local, BR_IF, 0];
  const dot = (k: number): number[] => [
    ...get(SW.ACC0 + k),
    ...get(SW.P), ...V128_LOAD, 3, ...uleb(16 * k),
    ...get(SW.Q), ...V128_LOAD, 3, ...uleb(16 * k),
    ...lanes.vmul, ...lanes.vadd, ...set(SW.ACC0 + k),
  ];
  const axpy = (k: number): number[] => [
    ...get(SW.W),
    ...get(SW.W), ...V128_LOAD, 3, ...uleb(16 * k),
    ...get(SW.UV), ...get(SW.P), ...V128_LOAD, 3, ...uleb(16 * k), ...lanes.vmul,
    ...lanes.vadd,
    ...V128_STORE, 3, ...uleb(16 * k),
  ];
  const tailMask = (1 << stepShift) - 1;
  const code = [
    BLOCK, EMPTY,
    ...get(SW.ROWS), I32_EQZ, BR_IF, 0,
    LOOP, EMPTY,
    ...rowStart,
    ...get(SW.VEC), ...set(SW.Q),
    ...zero, ...set(SW.ACC0), ...zero, ...set(SW.ACC0 + 1), ...zero, ...set(SW.ACC0 + 2), ...zero, ...set(SW.ACC0 + 3),
    ...get(SW.COLS), ...i32(stepShift), I32_SHR_U, ...set(SW.C),
    BLOCK, EMPTY, ...get(SW.C), I32_EQZ, BR_IF, 0,
    LOOP, EMPTY,
    ...dot(0), ...dot(1), ...dot(2), ...dot(3),
    ...addTo(SW.P, 64), ...addTo(SW.Q, 64),
    ...countdown(SW.C),
    END, END,
    ...get(SW.ACC0), ...get(SW.ACC0 + 1), ...lanes.vadd, ...get(SW.ACC0 + 2), ...lanes.vadd, ...get(SW.ACC0 + 3), ...lanes.vadd,
    ...set(SW.ACC0), ...lanes.reduce(SW.ACC0), ...set(SW.S),
    ...get(SW.COLS), ...i32(tailMask), I32_AND, ...set(SW.C),
    BLOCK, EMPTY, ...get(SW.C), I32_EQZ, BR_IF, 0,
    LOOP, EMPTY,
    ...get(SW.S), ...get(SW.P), lanes.load, shift, 0, ...get(SW.Q), lanes.load, shift, 0, lanes.mul, lanes.add, ...set(SW.S),
    ...addTo(SW.P, size), ...addTo(SW.Q, size),
    ...countdown(SW.C),
    END, END,
    // u[r] = a[r] / s
    ...get(SW.A), ...get(SW.R), ...i32(shift), I32_SHL, I32_ADD, lanes.load, shift, 0, ...get(SW.S), lanes.div, ...set(SW.UI),
    ...get(SW.U), ...get(SW.R), ...i32(shift), I32_SHL, I32_ADD, ...get(SW.UI), lanes.store, shift, 0,
    ...get(SW.UI), ...lanes.splat, ...set(SW.UV),
    // col += u[r]·K_r
    ...rowStart,
    ...get(SW.COL), ...set(SW.W),
    ...get(SW.COLS), ...i32(stepShift), I32_SHR_U, ...set(SW.C),
    BLOCK, EMPTY, ...get(SW.C), I32_EQZ, BR_IF, 0,
    LOOP, EMPTY,
    ...axpy(0), ...axpy(1), ...axpy(2), ...axpy(3),
    ...addTo(SW.P, 64), ...addTo(SW.W, 64),
    ...countdown(SW.C),
    END, END,
    ...get(SW.COLS), ...i32(tailMask), I32_AND, ...set(SW.C),
    BLOCK, EMPTY, ...get(SW.C), I32_EQZ, BR_IF, 0,
    LOOP, EMPTY,
    ...get(SW.W), ...get(SW.W), lanes.load, shift, 0, ...get(SW.UI), ...get(SW.P), lanes.load, shift, 0, lanes.mul, lanes.add, lanes.store, shift, 0,
    ...addTo(SW.P, size), ...addTo(SW.W, size),
    ...countdown(SW.C),
    END, END,
    ...get(SW.R), ...i32(1), I32_ADD, LOCAL_TEE, SW.R, ...get(SW.ROWS), I32_LT_U, BR_IF, 0,
    END,
    END,
    END,
  ];
  const locals = [3, 5, 0x7f, 5, 0x7b, 2, lanes.scalarType];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const type = section(1, [2, 0x60, 6, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0, 0x60, 7, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]);
  const func = section(3, [3, 0, 1, 1]);
  const memory = section(5, [1, 0, 1]);
  const exports = section(7, [4, ...name('mem'), 2, 0, ...name('dotRows'), 0, 0, ...name('sweep'), 0, 1, ...name('sweep32'), 0, 2]);
  const code = section(10, [3, ...dotRowsBody(), ...sweepBody(F64_LANES), ...sweepBody(F32_LANES)]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...func, ...memory, ...exports, ...code]);
}

/** The instantiated kernel with a bump allocator over its memory. */
export interface DotKernel {
  /**
   * out[r] = mat_r · vec for `rows` rows of length `cols` (byte addresses from {@link alloc}); row r
   * starts `stride` (default `cols`) float64 slots after row r − 1.
   */
  dotRows(mat: number, vec: number, out: number, rows: number, cols: number, stride?: number): void;
  /**
   * One fused Sinkhorn sweep: for r in 0..rows−1, u[r] = a[r] / (mat_r · vec), then col += u[r]·mat_r
   * (col is accumulated into, not cleared).
   */
  sweep(mat: number, vec: number, u: number, a: number, col: number, rows: number, cols: number): void;
  /**
   * {@link DotKernel.sweep} on float32 arrays (f32x4 lanes, float32 sums: the plain Sinkhorn iteration
   * of `dtype: 'float32'`); addresses from {@link alloc32}.
   */
  sweep32(mat: number, vec: number, u: number, a: number, col: number, rows: number, cols: number): void;
  /** Reserves `count` float64 slots (16-byte aligned) and returns the byte address; grows memory. */
  alloc(count: number): number;
  /** A Float64Array view of `count` slots at `address` (views go stale when memory grows: alloc first). */
  view(address: number, count: number): Float64Array;
  /** Reserves `count` float32 slots (16-byte aligned) and returns the byte address. */
  alloc32(count: number): number;
  /** A Float32Array view of `count` float32 slots at `address`. */
  view32(address: number, count: number): Float32Array;
  /** Frees every allocation (the memory stays reserved for reuse). */
  reset(): void;
}

let cached: DotKernel | null | undefined;

/** The shared kernel, or null when WebAssembly SIMD is unavailable in this runtime. */
export function getKernel(): DotKernel | null {
  if (cached !== undefined) return cached;
  const kernel = instantiateKernel(moduleBytes());
  if (kernel === null) return (cached = null);
  const { exports, memory } = kernel;
  const dotRowsStrided = exports['dotRows'] as (m: number, v: number, o: number, r: number, c: number, s: number) => void;
  type Sweep = (m: number, v: number, u: number, a: number, col: number, r: number, c: number) => void;
  const sweep = exports['sweep'] as Sweep;
  const sweep32 = exports['sweep32'] as Sweep;
  const heap = bumpAllocator(memory);
  cached = {
    dotRows: (m, v, o, r, c, s = c) => dotRowsStrided(m, v, o, r, c, s),
    sweep,
    sweep32,
    alloc: (count: number) => heap.reserve(count * 8),
    alloc32: (count: number) => heap.reserve(count * 4),
    view: (address: number, count: number) => new Float64Array(memory.buffer, address, count),
    view32: (address: number, count: number) => new Float32Array(memory.buffer, address, count),
    reset: () => heap.reset(),
  };
  return cached;
}
