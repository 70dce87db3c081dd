/**
 * Registering and unregistering the library's wasm training fixes in the global tfjs kernel registry.
 * The stock kernels a fix replaces are remembered so `fixes: false` restores them exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { fastBatchMatMul, fastConv2DBackpropFilter, fastConv2DBackpropInput } from './fixes-fast.js';
import {
  depthwiseBackpropFilterFix,
  depthwiseBackpropInputFix,
  maxPoolGradFix,
  unsortedSegmentSumFix,
} from './fixes-loops.js';

/** Kernels the library replaces (or adds) on the wasm backend. */
export type WasmFixName =
  | 'BatchMatMul'
  | 'Conv2DBackpropFilter'
  | 'Conv2DBackpropInput'
  | 'MaxPoolGrad'
  | 'DepthwiseConv2dNativeBackpropFilter'
  | 'DepthwiseConv2dNativeBackpropInput'
  | 'UnsortedSegmentSum';

/** Every fix, in registration order. */
export const WASM_FIXES: readonly WasmFixName[] = [
  'BatchMatMul',
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'MaxPoolGrad',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
];

/** The tfjs minor versions whose wasm internals the fixes were written and tested against. */
export const SUPPORTED_TFJS = '>=4.22.0 <4.23.0';

/** Builds the fixed kernel from the stock one it wraps (undefined when stock has none). */
const BUILDERS: Record<WasmFixName, (stock: tf.KernelConfig | undefined) => tf.KernelConfig | undefined> = {
  BatchMatMul: (stock) => (stock === undefined ? undefined : fastBatchMatMul(stock)),
  Conv2DBackpropFilter: () => fastConv2DBackpropFilter(),
  Conv2DBackpropInput: (stock) => (stock === undefined ? undefined : fastConv2DBackpropInput(stock)),
  MaxPoolGrad: () => maxPoolGradFix(),
  DepthwiseConv2dNativeBackpropFilter: () => depthwiseBackpropFilterFix(),
  DepthwiseConv2dNativeBackpropInput: () => depthwiseBackpropInputFix(),
  UnsortedSegmentSum: () => unsortedSegmentSumFix(),
};

/** Stock configs replaced by a fix (`null`: stock had no such kernel). */
const stockKernels = new Map<WasmFixName, tf.KernelConfig | null>();
/** The fixed configs built so far, by name (registered or not). */
const fixedKernels = new Map<WasmFixName, tf.KernelConfig>();

function replaceKernel(name: string, next: tf.KernelConfig | null): void {
  if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
  if (next !== null) tf.registerKernel(next);
}

/** True when `version` (e.g. "4.22.0") lies in {@link SUPPORTED_TFJS}. */
export function isSupportedTfjsVersion(version: string): boolean {
  const [major, minor] = version.split('.').map((s) => Number.parseInt(s, 10));
  return major === 4 && minor === 22;
}

/**
 * Registers every fix on the wasm backend (idempotent). Requires `@tensorflow/tfjs-backend-wasm` to be
 * imported first, so its stock kernels exist to be wrapped. Returns the fixes now active.
 */
export function registerWasmFixes(): WasmFixName[] {
  for (const name of WASM_FIXES) {
    const current = tf.getKernel(name, 'wasm');
    let ours = fixedKernels.get(name);
    if (ours !== undefined && current === ours) continue;
    // Whatever is registered now (and is not ours) is the stock kernel to wrap and later restore; the
    // fixed config is rebuilt only if that stock kernel changed, so on → off → on gives the same object.
    if (ours === undefined || stockKernels.get(name) !== (current ?? null)) {
      stockKernels.set(name, current ?? null);
      ours = BUILDERS[name](current);
      if (ours === undefined) continue;
      fixedKernels.set(name, ours);
    }
    replaceKernel(name, ours);
  }
  return activeWasmFixes();
}

/** Unregisters every active fix and re-registers the stock kernel it replaced (idempotent). */
export function unregisterWasmFixes(): void {
  for (const name of WASM_FIXES) {
    const ours = fixedKernels.get(name);
    if (ours === undefined || tf.getKernel(name, 'wasm') !== ours) continue;
    replaceKernel(name, stockKernels.get(name) ?? null);
  }
}

/** The fixes whose kernels are registered for wasm right now. */
export function activeWasmFixes(): WasmFixName[] {
  return WASM_FIXES.filter((name) => {
    const ours = fixedKernels.get(name);
    return ours !== undefined && tf.getKernel(name, 'wasm') === ours;
  });
}
