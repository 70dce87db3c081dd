/** Backends: choose where tfjs computes (`useBackend`) and see what it can do (`capabilities`). See docs/backends.md. Explicit exports: this file is the area's public surface (see docs/architecture.md, Naming). */
export { BACKEND_NAMES } from './spec.js';
export type { BackendName, BackendOptionsBase, BackendSpec, CpuSpec, NativeSpec, WasmSpec, WebglSpec } from './spec.js';
export { capabilities, useBackend } from './use.js';
export type { BackendCapabilities } from './use.js';
