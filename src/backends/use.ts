/** `useBackend` and `capabilities`: choosing, loading and describing the tfjs backend. */
import * as tf from '@tensorflow/tfjs';
import { LongTailError } from '../core/errors.js';
import { resolveSpec, type BackendName, type BackendSpec, type ResolvedSpec } from './spec.js';
import { activeWasmFixes, isSupportedTfjsVersion, registerWasmFixes, SUPPORTED_TFJS, unregisterWasmFixes, type WasmFixName } from './wasm-fixes.js';
import { importHidden, isMissingModule, isNode } from '../core/node.js';
import { ensureTfjsNodeUtilFunctions } from './node-util.js';
import { withoutAddedProcessHandlers } from './process-handlers.js';
import { createThreadedWasmBackend } from './wasm-threads.js';

/** What the active backend can do, as reported by {@link capabilities} and returned by {@link useBackend}. */
export interface BackendCapabilities {
  /** The active tfjs backend (`tf.getBackend()`); both native peers register as 'tensorflow'. */
  readonly backend: string;
  /** Where the library runs. */
  readonly platform: 'node' | 'browser';
  /** WebAssembly SIMD in use (wasm only; false elsewhere). */
  readonly simd: boolean;
  /** Compute threads: the XNNPACK pool on wasm, 1 on cpu, null where the backend manages its own. */
  readonly threads: number | null;
  /**
   * Why wasm runs on `threads` threads: the default (one thread; 2 threads are opt-in, see
   * docs/backends.md), the requested count, or the fallback to the current count with the reason it
   * could not start. Null on other backends.
   */
  readonly threadDecision: string | null;
  /** The library's wasm kernel fixes that are registered (empty unless the active backend is wasm). */
  readonly fixes: readonly WasmFixName[];
  /** `tf.version_core`. The fixes are tested against {@link SUPPORTED_TFJS}. */
  readonly tfjsVersion: string;
  /** Warnings of the last {@link useBackend} call (also sent to its `onWarning`). */
  readonly warnings: readonly string[];
}

const NATIVE_PACKAGES = {
  tensorflow: '@tensorflow/tfjs-node',
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
} as const;

/** Priority tfjs-backend-wasm registers with; kept when the library re-registers the backend. */
const WASM_PRIORITY = 2;

type BackendFactory = () => tf.KernelBackend | Promise<tf.KernelBackend>;

/** The stock wasm factory, saved the first time the library replaces it with a threaded one. */
let stockWasmFactory: BackendFactory | null = null;
/** Threads of the wasm backend the registered factory builds (1 = the stock single-threaded module). */
let wasmThreads = 1;
/**
 * Not chosen automatically: the thread count is fixed for every kernel when the backend starts, threads
 * speed up large matmuls and convolutions on an idle machine and slow whole steps down when the cores are
 * shared (`npm run bench:backends` measures both in its "2 threads vs 1" column), and a per-kernel choice
 * would need a second backend and moving tensors.
 */
const DEFAULT_THREAD_DECISION = 'default: 1 thread (2 threads are opt-in with { name: "wasm", threads: 2 }: faster on large matmuls and convolutions on an idle machine, slower when the cores are shared; npm run bench:backends measures both)';
let threadDecision = DEFAULT_THREAD_DECISION;
let nativeLoaded: string | null = null;
let lastWarnings: string[] = [];

/**
 * Activates a backend and waits until it is ready; returns its {@link capabilities}.
 *
 * - 'cpu': plain JavaScript; the correctness reference.
 * - 'wasm': WebAssembly (XNNPACK, SIMD). Finds its .wasm files by itself under Node; in browsers and
 *   bundles `wasmPaths` says where they are served. Registers the
 *   library's training-kernel fixes unless `fixes: false` (which restores the stock kernels);
 *   `threads: n` opts into multi-threading (falls back to one thread with a warning when it cannot start).
 * - 'tensorflow' / 'tensorflow-gpu': the optional peers `@tensorflow/tfjs-node` / `-node-gpu`, loaded on
 *   demand; a missing one throws `BACKEND_UNAVAILABLE` naming the package to install. On Node ≥ 23 the
 *   `util` functions tfjs-node 4.22 still calls are put back first (only where absent).
 * - 'webgl': browsers only.
 *
 * Specs are validated before anything loads (`INVALID_OPTION`).
 *
 * @example
 * ```ts
 * await useBackend('wasm');
 * await useBackend({ name: 'wasm', threads: 2, onWarning: (m) => log(m) });
 * await useBackend({ name: 'wasm', wasmPaths: '/assets/tfjs-wasm/' }); // browser: where the .wasm files are served
 * ```
 */
export async function useBackend(spec: BackendSpec): Promise<BackendCapabilities> {
  const resolved = resolveSpec(spec);
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    resolved.warn(message);
  };
  lastWarnings = warnings;
  switch (resolved.name) {
    case 'cpu':
      await activate('cpu', 'cpu');
      break;
    case 'wasm':
      await activateWasm(resolved, warn);
      break;
    case 'tensorflow':
    case 'tensorflow-gpu':
      await activateNative(resolved.name, warn);
      break;
    case 'webgl':
      await activateWebgl();
      break;
  }
  return capabilities();
}

/** Describes the active backend: name, SIMD, threads, registered wasm fixes, tfjs version. */
export function capabilities(): BackendCapabilities {
  const backend = tf.engine().backendName ?? tf.getBackend();
  const onWasm = backend === 'wasm';
  return {
    backend,
    platform: isNode() ? 'node' : 'browser',
    simd: onWasm && readFlag('WASM_HAS_SIMD_SUPPORT'),
    threads: onWasm ? wasmThreadsInUse() : backend === 'cpu' ? 1 : null,
    threadDecision: onWasm ? threadDecision : null,
    fixes: onWasm ? activeWasmFixes() : [],
    tfjsVersion: tf.version_core,
    warnings: [...lastWarnings],
  };
}

function readFlag(flag: string): boolean {
  try {
    return tf.env().getBool(flag);
  } catch {
    // Async flags throw until evaluated; the wasm backend evaluates this one when it starts.
    return false;
  }
}

function wasmThreadsInUse(): number {
  const wasm = (tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } }).wasm;
  return wasm?.tfjs?.getThreadsCount?.() ?? 1;
}

async function activate(name: string, requested: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) {
    throw new LongTailError(
      'BACKEND_UNAVAILABLE',
      `expected backend '${requested}' to initialise. Received: name="${requested}", which failed to start (tfjs printed the reason)`,
      { name: requested },
    );
  }
  await tf.ready();
}

async function activateWasm(spec: Extract<ResolvedSpec, { name: 'wasm' }>, warn: (m: string) => void): Promise<void> {
  const wasmPkg = await import('@tensorflow/tfjs-backend-wasm');
  for (const [what, version] of [
    ['@tensorflow/tfjs-core', tf.version_core],
    ['@tensorflow/tfjs-backend-wasm', wasmPkg.version_wasm],
  ] as const) {
    if (spec.fixes && !isSupportedTfjsVersion(version)) {
      warn(`the wasm kernel fixes are tested with tfjs ${SUPPORTED_TFJS}; ${what} is ${version}, so check them with the backends test suite`);
    }
  }
  if (spec.wasmPaths !== undefined) setWasmPaths(spec.wasmPaths, wasmPkg, warn);
  const threads = spec.threads ?? wasmThreads;
  // Starting the Emscripten module (here or in setWasmThreads) adds process handlers that would turn
  // every later uncaught error of the user's into 39 KB of minified code and exit code 7; they go.
  await withoutAddedProcessHandlers(async () => {
    if (threads !== wasmThreads) await setWasmThreads(threads, wasmPkg, warn);
    if (spec.fixes) registerWasmFixes();
    else unregisterWasmFixes();
    await activate('wasm', 'wasm');
  });
}

type WasmPackage = typeof import('@tensorflow/tfjs-backend-wasm');

/** The `wasmPaths` the wasm backend was started with (null: the package's default location). */
let wasmPathsInUse: string | null = null;

/** Tells tfjs-backend-wasm where its binaries are served; only possible before the backend first starts. */
function setWasmPaths(prefix: string, wasmPkg: WasmPackage, warn: (m: string) => void): void {
  if (prefix === wasmPathsInUse) return;
  if (tf.engine().registry['wasm'] !== undefined) {
    warn(`wasmPaths="${prefix}" ignored: the wasm backend already started with its binaries from ${wasmPathsInUse === null ? 'the default location' : `"${wasmPathsInUse}"`}`);
    return;
  }
  wasmPkg.setWasmPaths(prefix);
  wasmPathsInUse = prefix;
}

/** Re-creates the wasm backend with `threads` threads (the stock module for 1). */
async function setWasmThreads(threads: number, wasmPkg: WasmPackage, warn: (m: string) => void): Promise<void> {
  if (!isNode()) {
    // Browsers: tfjs-backend-wasm handles threads itself (cross-origin isolated pages only).
    if (tf.engine().registry['wasm'] !== undefined) {
      warn(`wasm threads=${threads} ignored: in a browser the thread count is fixed when the wasm backend first starts`);
      return;
    }
    wasmPkg.setThreadsCount(threads);
    wasmThreads = threads;
    threadDecision = `requested: ${threads} thread(s) (the browser runtime starts them if the page is cross-origin isolated)`;
    return;
  }
  const live = tf.engine().registry['wasm']?.numDataIds() ?? 0;
  if (live > 0) {
    throw new LongTailError(
      'BACKEND_UNAVAILABLE',
      `expected no tensors on the wasm backend when changing its thread count from ${wasmThreads} to ${threads} (the backend is re-created and would lose them). Received: liveTensors=${live}`,
      { threads, liveTensors: live },
    );
  }
  if (stockWasmFactory === null) stockWasmFactory = tf.findBackendFactory('wasm');
  if (threads === 1) {
    replaceWasmFactory(stockWasmFactory);
    wasmPkg.setThreadsCount(-1);
    wasmThreads = 1;
    threadDecision = 'requested: 1 thread';
    return;
  }
  let first: tf.KernelBackend | null;
  try {
    first = await createThreadedWasmBackend(threads);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    warn(`wasm threads=${threads} could not start, so wasm runs on ${wasmThreads} thread(s): ${reason}`);
    threadDecision = `fallback: ${wasmThreads} thread(s), because threads=${threads} could not start (${reason})`;
    return;
  }
  replaceWasmFactory(async () => {
    if (first !== null) {
      const b = first;
      first = null;
      return b;
    }
    return createThreadedWasmBackend(threads);
  });
  wasmThreads = threads;
  threadDecision = `requested: ${threads} threads`;
}

function replaceWasmFactory(factory: BackendFactory): void {
  if (tf.engine().registryFactory['wasm'] !== undefined) tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory, WASM_PRIORITY);
}

/** The error for a missing optional native peer: which package, why its install needs the internet, the offline alternative. */
export function missingNativePeerError(name: 'tensorflow' | 'tensorflow-gpu'): LongTailError {
  const pkg = NATIVE_PACKAGES[name];
  return new LongTailError(
    'BACKEND_UNAVAILABLE',
    `expected the optional peer package ${pkg} for backend '${name}'. Received: name="${name}", but ${pkg} is not installed. ` +
      `Install it with \`npm install ${pkg}\`; its install step downloads a native libtensorflow binary from the internet, ` +
      `so it fails offline (behind a proxy, point TFJS_NODE_CDN_STORAGE or TFJS_NODE_BASE_URI at a mirror). ` +
      `The 'wasm' backend needs no download and works offline: useBackend('wasm').`,
    { name, package: pkg },
  );
}

async function activateNative(name: 'tensorflow' | 'tensorflow-gpu', warn: (m: string) => void): Promise<void> {
  const pkg = NATIVE_PACKAGES[name];
  if (!isNode()) {
    throw new LongTailError(
      'BACKEND_UNAVAILABLE',
      `expected Node.js for backend '${name}'. Received: name="${name}" in a browser; use 'webgl' or 'wasm' there`,
      { name },
    );
  }
  if (nativeLoaded !== null && nativeLoaded !== pkg) {
    warn(`${nativeLoaded} is already loaded and only one native TensorFlow fits in a process; '${name}' uses it`);
  } else if (tf.engine().registryFactory['tensorflow'] === undefined) {
    // tfjs-node 4.22 calls util functions that Node 23 removed; they must be back before its first op.
    await ensureTfjsNodeUtilFunctions();
    try {
      await importHidden(pkg);
    } catch (e) {
      if (isMissingModule(e, pkg)) throw missingNativePeerError(name);
      const reason = ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '').replace(/\.$/, '');
      throw new LongTailError(
        'BACKEND_UNAVAILABLE',
        `expected ${pkg} to load for backend '${name}'. Received: ${reason}. Its native libtensorflow binary may be missing: ` +
          `run \`npm rebuild ${pkg}\` where the internet is reachable, or use 'wasm'`,
        { name, package: pkg },
      );
    }
    nativeLoaded = pkg;
  }
  await activate('tensorflow', name);
}

async function activateWebgl(): Promise<void> {
  const canvas = typeof document !== 'undefined' || typeof OffscreenCanvas !== 'undefined';
  if (isNode() || !canvas) {
    throw new LongTailError(
      'BACKEND_UNAVAILABLE',
      `expected a WebGL context (a browser with WebGL). Received: name="webgl" in ${isNode() ? 'Node.js, which has no WebGL' : 'an environment without a canvas'}; ` +
        `use 'wasm' (or 'tensorflow' with @tensorflow/tfjs-node) there`,
      { name: 'webgl' },
    );
  }
  await activate('webgl', 'webgl');
}
