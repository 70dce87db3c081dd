/**
 * Internal helpers for the wasm kernel fixes: the slice of the wasm backend's API they use, calling
 * another registered wasm kernel directly, and freeing intermediate buffers.
 *
 * Kernels run below the engine, so intermediates are raw `TensorInfo`s (not tensors): `tf.tidy` does not
 * see them and each one must be released with `backend.disposeData`.
 */
import * as tf from '@tensorflow/tfjs';

/** The methods of tfjs-backend-wasm 4.22's `BackendWasm` the fixes rely on. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view on the wasm heap; invalidated when the heap grows, so take views after every allocation. */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** The arguments every kernel function receives. */
export interface KernelArgs {
  readonly inputs: tf.NamedTensorInfoMap;
  readonly backend: object;
  readonly attrs?: tf.NamedAttrMap;
}

/** Runs a kernel function and narrows its result to one output. */
export function runKernel(
  kernel: tf.KernelConfig,
  backend: object,
  inputs: tf.NamedTensorInfoMap,
  attrs: object,
): tf.TensorInfo {
  const out = kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  return (Array.isArray(out) ? out[0] : out) as tf.TensorInfo;
}

/** Runs the kernel currently registered for `name` on the wasm backend. */
export function runWasmKernel(
  name: string,
  backend: object,
  inputs: tf.NamedTensorInfoMap,
  attrs: object,
): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (kernel === undefined) throw new Error(`wasm kernel ${name} is not registered`);
  return runKernel(kernel, backend, inputs, attrs);
}

/** Collects intermediate buffers and releases them together. */
export class Scratch {
  private readonly held: tf.TensorInfo[] = [];
  constructor(private readonly backend: WasmBackendLike) {}

  /** Remembers `info` for {@link Scratch.free} and returns it. */
  keep(info: tf.TensorInfo): tf.TensorInfo {
    this.held.push(info);
    return info;
  }

  free(): void {
    for (const info of this.held) this.backend.disposeData(info.dataId);
    this.held.length = 0;
  }
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A rank-4 shape tuple (the conv helpers of tfjs-core want tuples). */
export function shape4(shape: readonly number[]): [number, number, number, number] {
  if (shape.length !== 4) throw new Error(`expected a rank-4 shape, got [${shape.join(', ')}]`);
  return [shape[0] as number, shape[1] as number, shape[2] as number, shape[3] as number];
}
