/** Backend specs: the names and options objects {@link useBackend} accepts, and their validation. */
import { checkOptions, type OptionKeys } from '../core/options.js';
import { invalid } from '../core/errors.js';
import { checkInteger } from '../core/validate.js';
import { MAX_WASM_THREADS } from './wasm-threads.js';

/** Backend names the library knows. 'tensorflow' and 'tensorflow-gpu' are the optional native peers. */
export type BackendName = 'cpu' | 'wasm' | 'tensorflow' | 'tensorflow-gpu' | 'webgl';

/** Every backend name, for validation and docs. */
export const BACKEND_NAMES: readonly BackendName[] = ['cpu', 'wasm', 'tensorflow', 'tensorflow-gpu', 'webgl'];

/** Options every spec accepts. */
export interface BackendOptionsBase {
  /**
   * Receives non-fatal problems (threads falling back to one, an untested tfjs version). The library never
   * logs; without a callback these are only visible through {@link capabilities}.
   */
  readonly onWarning?: (message: string) => void;
}

/** The plain-JS reference backend: slow, exact, always available. */
export interface CpuSpec extends BackendOptionsBase {
  readonly name: 'cpu';
}

/** The WebAssembly backend (XNNPACK), with the library's training-kernel fixes. */
export interface WasmSpec extends BackendOptionsBase {
  readonly name: 'wasm';
  /**
   * XNNPACK threads, 1–8. Omitted: keep the current setting (1 unless changed earlier). Above 1 under
   * Node this starts a separately built threaded module (opt-in: it helps matmul/convolution by
   * 1.3–1.9× on an idle machine and hurts on a busy one). Changing it re-creates the wasm backend, so it
   * must happen while no tensors live on wasm.
   */
  readonly threads?: number;
  /** Register the library's kernel fixes (default true). `false` restores the stock tfjs-wasm kernels. */
  readonly fixes?: boolean;
  /**
   * Where the `.wasm` binaries are served, as a URL or path prefix ending in '/' (passed to
   * tfjs-backend-wasm's `setWasmPaths` before the backend first starts). Needed in browsers and bundles:
   * serve the three files of `node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm` there. Not needed
   * under Node, where the package finds its own files.
   */
  readonly wasmPaths?: string;
}

/** TensorFlow's native C library through `@tensorflow/tfjs-node` (or `-gpu` for CUDA). */
export interface NativeSpec extends BackendOptionsBase {
  readonly name: 'tensorflow' | 'tensorflow-gpu';
}

/** WebGL in a browser. */
export interface WebglSpec extends BackendOptionsBase {
  readonly name: 'webgl';
}

/** A backend name or an options object tagged by name. */
export type BackendSpec = BackendName | CpuSpec | WasmSpec | NativeSpec | WebglSpec;

/** A validated spec with defaults filled in. */
export type ResolvedSpec =
  | { readonly name: 'cpu' | 'tensorflow' | 'tensorflow-gpu' | 'webgl'; readonly warn: (m: string) => void }
  | {
      readonly name: 'wasm';
      readonly threads: number | undefined;
      readonly fixes: boolean;
      readonly wasmPaths: string | undefined;
      readonly warn: (m: string) => void;
    };

const ALLOWED_KEYS: Record<BackendName, readonly string[]> = {
  cpu: ['name', 'onWarning'],
  wasm: ['name', 'threads', 'fixes', 'wasmPaths', 'onWarning'],
  tensorflow: ['name', 'onWarning'],
  'tensorflow-gpu': ['name', 'onWarning'],
  webgl: ['name', 'onWarning'],
};

function checkName(name: unknown): BackendName {
  if (typeof name !== 'string' || !(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw invalid('INVALID_OPTION', `backend name to be one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}`, 'name', name);
  }
  return name as BackendName;
}

/**
 * Validates a spec before anything is loaded: the name, unknown keys (typos such as `thread`), `threads`
 * (integer 1–8), `fixes` (boolean), `wasmPaths` (prefix ending in '/') and `onWarning` (function).
 */
export function resolveSpec(spec: BackendSpec): ResolvedSpec {
  if (typeof spec === 'string') {
    const name = checkName(spec);
    const warn = () => undefined;
    return name === 'wasm' ? { name, threads: undefined, fixes: true, wasmPaths: undefined, warn } : { name, warn };
  }
  if (spec === null || typeof spec !== 'object') {
    throw invalid('INVALID_OPTION', 'a backend name or an options object { name, ... }', 'spec', spec);
  }
  const name = checkName((spec as { name?: unknown }).name);
  checkOptions(`useBackend { name: "${name}" }`, spec as object, Object.fromEntries(ALLOWED_KEYS[name].map((k) => [k, true])) as OptionKeys<object>);
  const onWarning = (spec as BackendOptionsBase).onWarning;
  if (onWarning !== undefined && typeof onWarning !== 'function') {
    throw invalid('INVALID_OPTION', 'onWarning to be a function', 'onWarning', onWarning);
  }
  const warn = (m: string) => onWarning?.(m);
  if (name !== 'wasm') return { name, warn };
  const { threads, fixes, wasmPaths } = spec as WasmSpec;
  if (threads !== undefined) {
    checkInteger('threads', threads, { min: 1 });
    if (threads > MAX_WASM_THREADS) throw invalid('INVALID_OPTION', `threads <= ${MAX_WASM_THREADS}`, 'threads', threads);
  }
  if (fixes !== undefined && typeof fixes !== 'boolean') throw invalid('INVALID_OPTION', 'fixes to be a boolean', 'fixes', fixes);
  if (wasmPaths !== undefined && (typeof wasmPaths !== 'string' || !wasmPaths.endsWith('/'))) {
    throw invalid('INVALID_OPTION', "wasmPaths to be a URL or path prefix ending in '/'", 'wasmPaths', wasmPaths);
  }
  return { name, threads, fixes: fixes ?? true, wasmPaths, warn };
}
