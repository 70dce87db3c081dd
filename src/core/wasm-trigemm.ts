/**
 * A hand-assembled WebAssembly SIMD kernel (f32x4 lanes, built from bytes like src/core/wasm-kernel.ts)
 * for the Gaussian synthesizer's product X = 1·μᵀ + Z·Lᵀ with L lower triangular: one function,
 *
 *   `lowerAffine(z, b, mu, out, tiles, d, d8)`: for each tile of 4 rows of Z (row stride d floats) and
 *   each panel p of 8 output columns, out[r, 8p + c] = μ[8p + c] + Σ_{k < K_p} Z[r, k]·B_p[k, c] with
 *   K_p = min(8p + 8, d) (out rows of d8 floats),
 *
 * where the packed B_p[k, c] = L[8p + c, k] holds only the rows k ≤ 8p + 7 of Lᵀ that can be non-zero:
 * about half the multiply-adds of a full GEMM. The 4 × 8 register tile (eight accumulators) starts from
 * μ and adds Z[r, k]·B_p[k, ·] for k = 0, 1, … in order (f32 multiply, then add). Null when WebAssembly
 * SIMD is unavailable.
 */

import { BLOCK, BR_IF, EMPTY, END, F32X4_ADD, F32X4_MUL, F32X4_SPLAT, F32_LOAD, I32_ADD, I32_CONST, I32_EQZ, I32_LT_U, I32_MUL, I32_SHL, I32_SHR_U, I32_SUB, LOCAL_GET, LOCAL_SET, LOCAL_TEE, LOOP, V128_LOAD, V128_STORE, bumpAllocator, instantiateKernel, singleFunctionModule, uleb } from './wasm-asm.js';

const SELECT = 0x1b;
// Parameters 0..6; i32 locals 7..16; v128 locals 17..27.
const L = { Z: 0, B: 1, MU: 2, OUT: 3, TILES: 4, D: 5, D8: 6, T: 7, P: 8, K: 9, BP: 10, Z0: 11, Z1: 12, Z2: 13, Z3: 14, ZROW: 15, OROW: 16, ACC: 17, B0: 25, B1: 26, A: 27 } as const;
const I32_LOCALS = 10;
const V128_LOCALS = 11;

const get = (i: number): number[] => [LOCAL_GET, i];
const set = (i: number): number[] => [LOCAL_SET, i];
const i32 = (n: number): number[] => [I32_CONST, ...uleb(n)]; // small non-negative constants below 64
const addTo = (local: number, n: number): number[] => [...get(local), ...i32(n), I32_ADD, ...set(local)];

function lowerAffineBody(): number[] {
  // Row r of the tile: a = splat(Z[r, k]); acc[2r] += a·b0; acc[2r+1] += a·b1.
  const row = (r: number): number[] => [
    ...get(L.Z0 + r), F32_LOAD, 2, 0, ...F32X4_SPLAT, ...set(L.A),
    ...get(L.ACC + 2 * r), ...get(L.A), ...get(L.B0), ...F32X4_MUL, ...F32X4_ADD, ...set(L.ACC + 2 * r),
    ...get(L.ACC + 2 * r + 1), ...get(L.A), ...get(L.B1), ...F32X4_MUL, ...F32X4_ADD, ...set(L.ACC + 2 * r + 1),
    ...addTo(L.Z0 + r, 4),
  ];
  // Store row r's accumulators at OROW + r·d8·4 + p·32 (K is reused as the address).
  const store = (r: number): number[] => [
    ...get(L.OROW), ...get(L.D8), ...i32(4 * r), I32_MUL, I32_ADD, ...get(L.P), ...i32(5), I32_SHL, I32_ADD, ...set(L.K),
    ...get(L.K), ...get(L.ACC + 2 * r), ...V128_STORE, 0, 0,
    ...get(L.K), ...get(L.ACC + 2 * r + 1), ...V128_STORE, 0, 16,
  ];
  const initAcc = (r: number): number[] => [...get(L.B0), ...set(L.ACC + 2 * r), ...get(L.B1), ...set(L.ACC + 2 * r + 1)];
  const dBytes = [...get(L.D), ...i32(2), I32_SHL];
  const code = [
    BLOCK, EMPTY,
    ...get(L.TILES), I32_EQZ, BR_IF, 0,
    ...get(L.Z), ...set(L.ZROW),
    ...get(L.OUT), ...set(L.OROW),
    LOOP, EMPTY, // tiles
    ...get(L.B), ...set(L.BP),
    ...i32(0), ...set(L.P),
    LOOP, EMPTY, // panels
    // b0, b1 = μ[8p .. 8p+8) as the accumulators' start
    ...get(L.MU), ...get(L.P), ...i32(5), I32_SHL, I32_ADD, LOCAL_TEE, L.K, ...V128_LOAD, 0, 0, ...set(L.B0),
    ...get(L.K), ...V128_LOAD, 0, 16, ...set(L.B1),
    ...initAcc(0), ...initAcc(1), ...initAcc(2), ...initAcc(3),
    // row pointers at column 0 of the tile's rows
    ...get(L.ZROW), ...set(L.Z0),
    ...get(L.ZROW), ...dBytes, I32_ADD, ...set(L.Z1),
    ...get(L.Z1), ...dBytes, I32_ADD, ...set(L.Z2),
    ...get(L.Z2), ...dBytes, I32_ADD, ...set(L.Z3),
    // K = min(8p + 8, d) (≥ 1)
    ...get(L.P), ...i32(3), I32_SHL, ...i32(8), I32_ADD, LOCAL_TEE, L.K, ...get(L.D), ...get(L.K), ...get(L.D), I32_LT_U, SELECT, ...set(L.K),
    LOOP, EMPTY, // k
    ...get(L.BP), ...V128_LOAD, 0, 0, ...set(L.B0),
    ...get(L.BP), ...V128_LOAD, 0, 16, ...set(L.B1),
    ...row(0), ...row(1), ...row(2), ...row(3),
    ...addTo(L.BP, 32),
    ...get(L.K), ...i32(1), I32_SUB, LOCAL_TEE, L.K, BR_IF, 0,
    END,
    ...store(0), ...store(1), ...store(2), ...store(3),
    ...get(L.P), ...i32(1), I32_ADD, LOCAL_TEE, L.P, ...get(L.D8), ...i32(3), I32_SHR_U, I32_LT_U, BR_IF, 0,
    END,
    // next tile: 4 rows down in Z and in out
    ...get(L.ZROW), ...dBytes, ...i32(2), I32_SHL, I32_ADD, ...set(L.ZROW),
    ...get(L.OROW), ...get(L.D8), ...i32(4), I32_SHL, I32_ADD, ...set(L.OROW),
    ...get(L.T), ...i32(1), I32_ADD, LOCAL_TEE, L.T, ...get(L.TILES), I32_LT_U, BR_IF, 0,
    END,
    END,
    END,
  ];
  const locals = [2, I32_LOCALS, 0x7f, V128_LOCALS, 0x7b];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  return singleFunctionModule(7, 'lowerAffine', lowerAffineBody());
}

/** The instantiated kernel with a bump allocator over its own memory. */
export interface TriGemmKernel {
  /** See the module comment; byte addresses, `tiles` groups of 4 rows, `d8` = d rounded up to 8. */
  lowerAffine(z: number, b: number, mu: number, out: number, tiles: number, d: number, d8: number): void;
  /** Reserves `count` float32 slots (16-byte aligned) and returns the byte address; grows memory. */
  alloc(count: number): number;
  /** A Float32Array view of `count` slots at `address` (views go stale when memory grows: alloc first). */
  view(address: number, count: number): Float32Array;
  /** Frees every allocation (the memory stays reserved for reuse). */
  reset(): void;
}

let cached: TriGemmKernel | null | undefined;

/** The shared kernel, or null when WebAssembly SIMD is unavailable in this runtime. */
export function getTriGemmKernel(): TriGemmKernel | null {
  if (cached !== undefined) return cached;
  const kernel = instantiateKernel(moduleBytes());
  if (kernel === null) return (cached = null);
  const { exports, memory } = kernel;
  const heap = bumpAllocator(memory);
  cached = {
    lowerAffine: exports['lowerAffine'] as TriGemmKernel['lowerAffine'],
    alloc: (count: number) => heap.reserve(count * 4),
    view: (address: number, count: number) => new Float32Array(memory.buffer, address, count),
    reset: () => heap.reset(),
  };
  return cached;
}
