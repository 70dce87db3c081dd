/**
 * A tiny hand-assembled WebAssembly SIMD kernel for float32 products of small matrices (f32x4 lanes),
 * built from bytes here like src/core/wasm-kernel.ts (no toolchain at install). One function,
 *
 *   `axpyGrid(a, src, dst, m, k, n4, si, sk, di, dk)`: for i < m, j < k:
 *     dst[i·di + j·dk … + 16·n4) += a[i·k + j] · src[i·si + j·sk … + 16·n4)
 *
 * (byte addresses and strides; rows are n4 vectors of 4 floats), covers both products of a linear
 * layer's step: C = A·B (si = 0, sk = row, di = row, dk = 0) and C += Aᵀ·G (si = row, sk = 0, di = 0,
 * dk = row). For the small heads it serves (a few hundred thousand multiply-adds), calling it costs less
 * than one tfjs kernel launch. Null when WebAssembly SIMD is unavailable (callers use plain loops).
 */

import { BLOCK, BR_IF, EMPTY, END, F32X4_ADD, F32X4_MUL, F32X4_SPLAT, F32_LOAD, I32_ADD, I32_CONST, I32_EQZ, I32_LT_U, I32_MUL, I32_OR, I32_SUB, LOCAL_GET, LOCAL_SET, LOCAL_TEE, LOOP, V128_LOAD, V128_STORE, bumpAllocator, instantiateKernel, singleFunctionModule, uleb } from './wasm-asm.js';

// Parameters 0..9, then locals: 10 i, 11 j, 12 aPtr, 13 srcRow, 14 dstRow, 15 p, 16 q, 17 cnt (i32); 18 s (v128).
const P = { A: 0, SRC: 1, DST: 2, M: 3, K: 4, N4: 5, SI: 6, SK: 7, DI: 8, DK: 9, I: 10, J: 11, APTR: 12, SROW: 13, DROW: 14, PP: 15, QQ: 16, CNT: 17, S: 18 } as const;

const get = (i: number): number[] => [LOCAL_GET, i];
const set = (i: number): number[] => [LOCAL_SET, i];
const i32 = (n: number): number[] => [I32_CONST, ...uleb(n)]; // only small non-negative constants here
const addTo = (local: number, n: number): number[] => [...get(local), ...i32(n), I32_ADD, ...set(local)];
const addLocal = (local: number, other: number): number[] => [...get(local), ...get(other), I32_ADD, ...set(local)];

function axpyGridBody(): number[] {
  const code = [
    BLOCK, EMPTY,
    // nothing to do when m, k or n4 is 0
    ...get(P.M), I32_EQZ, ...get(P.K), I32_EQZ, I32_OR, ...get(P.N4), I32_EQZ, I32_OR, BR_IF, 0,
    ...get(P.A), ...set(P.APTR),
    LOOP, EMPTY, // i
    ...i32(0), ...set(P.J),
    ...get(P.SRC), ...get(P.I), ...get(P.SI), I32_MUL, I32_ADD, ...set(P.SROW),
    ...get(P.DST), ...get(P.I), ...get(P.DI), I32_MUL, I32_ADD, ...set(P.DROW),
    LOOP, EMPTY, // j
    ...get(P.APTR), F32_LOAD, 2, 0, ...F32X4_SPLAT, ...set(P.S),
    ...get(P.DROW), ...set(P.PP),
    ...get(P.SROW), ...set(P.QQ),
    ...get(P.N4), ...set(P.CNT),
    LOOP, EMPTY, // vectors
    ...get(P.PP),
    ...get(P.PP), ...V128_LOAD, 0, 0,
    ...get(P.S), ...get(P.QQ), ...V128_LOAD, 0, 0, ...F32X4_MUL,
    ...F32X4_ADD,
    ...V128_STORE, 0, 0,
    ...addTo(P.PP, 16), ...addTo(P.QQ, 16),
    ...get(P.CNT), ...i32(1), I32_SUB, LOCAL_TEE, P.CNT, BR_IF, 0,
    END,
    ...addTo(P.APTR, 4),
    ...addLocal(P.SROW, P.SK), ...addLocal(P.DROW, P.DK),
    ...get(P.J), ...i32(1), I32_ADD, LOCAL_TEE, P.J, ...get(P.K), I32_LT_U, BR_IF, 0,
    END,
    ...get(P.I), ...i32(1), I32_ADD, LOCAL_TEE, P.I, ...get(P.M), I32_LT_U, BR_IF, 0,
    END,
    END,
    END,
  ];
  const locals = [2, 8, 0x7f, 1, 0x7b];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  return singleFunctionModule(10, 'axpyGrid', axpyGridBody());
}

/** The instantiated float32 kernel with a bump allocator over its own memory. */
export interface GemmKernel {
  /** See the module comment; every address and stride in bytes, rows of `n4` float32x4 vectors. */
  axpyGrid(a: number, src: number, dst: number, m: number, k: number, n4: number, si: number, sk: number, di: number, dk: number): void;
  /** Reserves `count` float32 slots (16-byte aligned) and returns the byte address; grows memory. */
  alloc(count: number): number;
  /** A Float32Array view of `count` slots at `address` (views go stale when memory grows: alloc first). */
  view(address: number, count: number): Float32Array;
  /** Frees every allocation (the memory stays reserved for reuse). */
  reset(): void;
}

/** Whether {@link createGemmKernel} may return a kernel (internal switch: tests exercise the fallbacks). */
let enabled = true;

/** Turns the SIMD kernel off (callers then take their plain loops) or back on; returns the previous setting. */
export function setGemmKernelEnabled(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/**
 * A fresh kernel instance (each caller owns its memory), or null when WebAssembly SIMD is unavailable.
 */
export function createGemmKernel(): GemmKernel | null {
  if (!enabled) return null;
  const kernel = instantiateKernel(moduleBytes());
  if (kernel === null) return null;
  const { exports, memory } = kernel;
  const heap = bumpAllocator(memory);
  return {
    axpyGrid: exports['axpyGrid'] as GemmKernel['axpyGrid'],
    alloc: (count: number) => heap.reserve(count * 4),
    view: (address: number, count: number) => new Float32Array(memory.buffer, address, count),
    reset: () => heap.reset(),
  };
}
