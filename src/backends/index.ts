/**
 * Backends: choose where tfjs computes (`useBackend`), see what it can do (`capabilities`), and the wasm
 * training-kernel fixes the library registers. See docs/backends.md.
 */
export { useBackend, capabilities, type BackendCapabilities } from './use.js';
export {
  BACKEND_NAMES,
  type BackendName,
  type BackendSpec,
  type BackendOptionsBase,
  type CpuSpec,
  type WasmSpec,
  type NativeSpec,
  type WebglSpec,
} from './spec.js';
export {
  WASM_FIXES,
  SUPPORTED_TFJS,
  registerWasmFixes,
  unregisterWasmFixes,
  activeWasmFixes,
  type WasmFixName,
} from './wasm-fixes.js';
export { MAX_WASM_THREADS } from './wasm-threads.js';
