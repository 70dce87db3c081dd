/**
 * Direct access to the float32 memory behind tensors on the two backends whose tensors live in host
 * memory: `cpu` (a Float32Array per tensor in its data map) and `wasm` (a slice of the WebAssembly heap,
 * found through the backend's data map). The fused optimizer update and the head step read gradients
 * and write variables and slots through these views in one pass instead of ~12 tfjs kernels each.
 *
 * Rules the callers follow: a view of a wasm tensor is invalidated when the heap grows, so views are
 * taken after the last tfjs allocation and used before the next one; a variable is written in place
 * only after {@link HostMemory.own} gave it a buffer of its own (no other tensor, and on cpu no array
 * of the caller's, shares it).
 */
import * as tf from '@tensorflow/tfjs';

/** The slice of tfjs-backend-cpu / tfjs-backend-wasm 4.22 internals used here. */
interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown; dtype: string; refCount: number } | undefined };
}
interface WasmBackendLike {
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number | null; dtype: string; refCount: number } | undefined };
  dataIdNextNumber: number;
  wasm: { tfjs: { disposeData(id: number): void; registerTensor(id: number, size: number, memoryOffset: number): void } };
  typedArrayFromHeap(info: { dataId: object; dtype: tf.DataType; shape: number[] }): Float32Array | Int32Array | Uint8Array;
}

/** Host views of tensors on the active backend. */
export interface HostMemory {
  readonly backend: 'cpu' | 'wasm';
  /** The float32 values of `t` (no copy; read-only by contract unless `t` was passed to `own`). */
  view(t: tf.Tensor): Float32Array;
  /** The int32 values of `t` (no copy). */
  viewInt(t: tf.Tensor): Int32Array;
  /**
   * Makes `v`'s buffer its own (re-assigning a fresh copy when it is shared, or was not yet seen by this
   * helper on cpu, where `tf.tensor(array)` keeps the caller's array). May allocate: take views after.
   */
  own(v: tf.Variable): void;
  /**
   * Declares that `v`'s memory was written in place. On wasm the tensor gets a new id in the C++ side
   * of the backend, which drops whatever it cached for the old id (XNNPACK operators with packed
   * weights, keyed by the weight tensor: without this, a matmul would keep using the old weights).
   */
  written(v: tf.Variable): void;
}

/** Buffers this module made private (per dataId): writing them in place touches nothing else. */
const owned = new WeakSet<object>();

function cpuMemory(backend: CpuBackendLike): HostMemory | null {
  if (typeof backend.data?.get !== 'function') return null;
  const entry = (t: tf.Tensor) => {
    const e = backend.data.get(t.dataId);
    if (e === undefined || !(e.values instanceof Float32Array || e.values instanceof Int32Array)) throw new Error('cpu tensor without host values');
    return e as { values: Float32Array | Int32Array; refCount: number };
  };
  return {
    backend: 'cpu',
    view: (t) => entry(t).values as Float32Array,
    viewInt: (t) => entry(t).values as Int32Array,
    own(v) {
      if (owned.has(v.dataId) && entry(v).refCount === 1) return;
      // A fresh output buffer of a kernel (never a user's array), assigned: v holds the only reference.
      const copy = tf.tidy(() => tf.mul(v, tf.scalar(1, 'float32')));
      v.assign(copy);
      copy.dispose();
      owned.add(v.dataId);
    },
    written: () => undefined,
  };
}

function wasmMemory(backend: WasmBackendLike): HostMemory | null {
  if (
    typeof backend.dataIdMap?.get !== 'function' ||
    typeof backend.typedArrayFromHeap !== 'function' ||
    typeof backend.dataIdNextNumber !== 'number' ||
    typeof backend.wasm?.tfjs?.disposeData !== 'function' ||
    typeof backend.wasm?.tfjs?.registerTensor !== 'function'
  ) {
    return null;
  }
  const info = (t: tf.Tensor) => ({ dataId: t.dataId, dtype: t.dtype, shape: t.shape });
  return {
    backend: 'wasm',
    view: (t) => backend.typedArrayFromHeap(info(t)) as Float32Array,
    viewInt: (t) => backend.typedArrayFromHeap(info(t)) as Int32Array,
    own(v) {
      // The heap is never shared with arrays outside tfjs: only other tensors can alias a buffer.
      if ((backend.dataIdMap.get(v.dataId)?.refCount ?? 2) === 1) return;
      const copy = tf.tidy(() => tf.mul(v, tf.scalar(1, 'float32')));
      v.assign(copy);
      copy.dispose();
    },
    written(v) {
      const entry = backend.dataIdMap.get(v.dataId);
      if (entry === undefined || entry.memoryOffset === null) return;
      // Same memory under a new id: disposeData on the C++ side only forgets the id (and runs the
      // disposal callbacks that free cached operators); the memory is freed by JavaScript's _free,
      // which is not called here.
      backend.wasm.tfjs.disposeData(entry.id);
      entry.id = backend.dataIdNextNumber++;
      backend.wasm.tfjs.registerTensor(entry.id, v.size, entry.memoryOffset);
    },
  };
}

/**
 * Host views for the active backend when it is `cpu` or `wasm` (and its internals look as expected);
 * null elsewhere (webgl, tfjs-node), where callers keep the tfjs-op path.
 */
export function hostMemory(): HostMemory | null {
  const name = tf.getBackend();
  if (name !== 'cpu' && name !== 'wasm') return null;
  const backend = tf.backend() as unknown;
  return name === 'cpu' ? cpuMemory(backend as CpuBackendLike) : wasmMemory(backend as WasmBackendLike);
}
