/**
 * The pieces the library's hand-assembled WebAssembly kernels (wasm-kernel.ts, wasm-gemm.ts, wasm-trigemm.ts)
 * are built from: LEB128 integers, sections, names, one-function modules, a bump allocator and the opcodes
 * they use (WebAssembly core + SIMD spec).
 */

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** A module section: id, byte length, body. */
export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * A whole module with one memory (exported as `mem`) and one function of `params` i32 parameters and no
 * result, exported as `exportName`; `body` is the function's encoded body (locals + code, length-prefixed).
 */
export function singleFunctionModule(params: number, exportName: string, body: number[]): Uint8Array<ArrayBuffer> {
  const type = section(1, [1, 0x60, params, ...new Array<number>(params).fill(0x7f), 0]);
  const func = section(3, [1, 0]);
  const memory = section(5, [1, 0, 1]);
  const exports = section(7, [2, ...name('mem'), 2, 0, ...name(exportName), 0, 0]);
  const code = section(10, [1, ...body]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...func, ...memory, ...exports, ...code]);
}

/** An instantiated kernel module: its exports and its own memory (exported as `mem`). */
export interface KernelInstance {
  readonly exports: WebAssembly.Exports;
  readonly memory: WebAssembly.Memory;
}

/**
 * Compiles and instantiates a kernel module (no imports), or null where the runtime has no WebAssembly or
 * rejects the module (no SIMD support).
 */
export function instantiateKernel(bytes: Uint8Array<ArrayBuffer>): KernelInstance | null {
  if (typeof WebAssembly === 'undefined') return null;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    return { exports: instance.exports, memory: instance.exports['mem'] as WebAssembly.Memory };
  } catch {
    return null;
  }
}

/** A bump allocator over a kernel's own memory: 16-byte aligned reservations, growing the memory as needed. */
export interface BumpAllocator {
  /** Reserves `bytes` bytes and returns their byte address (views taken before go stale if memory grew). */
  reserve(bytes: number): number;
  /** Frees every reservation (the memory stays reserved for reuse). */
  reset(): void;
}

/** A {@link BumpAllocator} over `memory`, starting at address 0. */
export function bumpAllocator(memory: WebAssembly.Memory): BumpAllocator {
  let top = 0;
  return {
    reserve(bytes: number): number {
      const address = top;
      top += Math.ceil(bytes / 16) * 16;
      const need = top - memory.buffer.byteLength;
      if (need > 0) memory.grow(Math.ceil(need / 65536));
      return address;
    },
    reset(): void {
      top = 0;
    },
  };
}

/** A length-prefixed name (ASCII). */
export function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
}

/** Opcodes (core). */
export const LOCAL_GET = 0x20;
export const LOCAL_SET = 0x21;
export const LOCAL_TEE = 0x22;
export const I32_CONST = 0x41;
export const I32_EQZ = 0x45;
export const I32_LT_U = 0x49;
export const I32_ADD = 0x6a;
export const I32_SUB = 0x6b;
export const I32_MUL = 0x6c;
export const I32_AND = 0x71;
export const I32_OR = 0x72;
export const I32_SHL = 0x74;
export const I32_SHR_U = 0x76;
export const F32_LOAD = 0x2a;
export const F64_LOAD = 0x2b;
export const F32_STORE = 0x38;
export const F64_STORE = 0x39;
export const F32_ADD = 0x92;
export const F32_MUL = 0x94;
export const F32_DIV = 0x95;
export const F64_ADD = 0xa0;
export const F64_MUL = 0xa2;
export const F64_DIV = 0xa3;
export const BLOCK = 0x02;
export const LOOP = 0x03;
export const END = 0x0b;
export const BR_IF = 0x0d;
export const EMPTY = 0x40;
export const SIMD = 0xfd;

/** SIMD opcodes (prefix 0xfd, then the LEB128 sub-opcode). */
export const V128_LOAD = [SIMD, 0x00];
export const V128_STORE = [SIMD, 0x0b];
export const V128_CONST = [SIMD, 0x0c];
export const F64X2_SPLAT = [SIMD, 0x14];
export const F64X2_EXTRACT = [SIMD, 0x21];
export const F64X2_ADD = [SIMD, ...uleb(0xf0)];
export const F64X2_MUL = [SIMD, ...uleb(0xf2)];
export const F32X4_SPLAT = [SIMD, 0x13];
export const F32X4_EXTRACT = [SIMD, 0x1f];
export const F32X4_ADD = [SIMD, ...uleb(0xe4)];
export const F32X4_MUL = [SIMD, ...uleb(0xe6)];
