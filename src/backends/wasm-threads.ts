/**
 * Multi-threaded wasm under Node.
 *
 * tfjs-backend-wasm 4.22 turns threads off under Node (`WASM_HAS_MULTITHREAD_SUPPORT` is false there) and
 * forcing the flag does not help: its loader hands Emscripten a `blob:` URL for the pthread worker, which
 * Node's `worker_threads` rejects. This module builds the threaded backend itself from the files the
 * package ships (`wasm-out/`):
 * - the worker script and the main script (the factory the workers evaluate) are written to a temporary
 *   directory, because the package ships the worker only as a string inside a CommonJS module;
 * - the wasm instantiation reports `2 × threads` logical cores, because the C++ side sizes its XNNPACK
 *   pool as min(requested, cores / 2) and a 2-core machine would otherwise get one thread.
 * Everything else (kernels, `BackendWasm`) is the stock package.
 */
import * as tf from '@tensorflow/tfjs';
import { importHidden, importNode, isNode } from '../core/node.js';

/** Most threads the C++ side accepts (it pre-creates 8 pthread workers). */
export const MAX_WASM_THREADS = 8;

/** How long the threaded module may take to start before we give up (workers that fail to load hang). */
const START_TIMEOUT_MS = 20_000;

const FACTORY_SPEC = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
const WORKER_SPEC = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';


interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: unknown[]) => unknown;
  PThread?: { terminateAllThreads(): void };
  tfjs?: Record<string, unknown>;
}
type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/** `module.exports` of a CommonJS file, whether it came through ESM `import()` or `require`. */
function cjsExports(mod: unknown): Record<string, unknown> & { default?: unknown } {
  return mod as Record<string, unknown> & { default?: unknown };
}

/** Loads the threaded-SIMD Emscripten factory and the worker script text shipped with the package. */
async function loadThreadedSources(): Promise<{ factory: Factory; worker: string }> {
  const factoryMod = cjsExports(await importHidden(FACTORY_SPEC));
  const factory = (typeof factoryMod === 'function' ? factoryMod : factoryMod.default) as Factory | undefined;
  const workerMod = cjsExports(await importHidden(WORKER_SPEC));
  const worker = (workerMod['wasmWorkerContents'] ?? cjsExports(workerMod.default)?.['wasmWorkerContents']) as string | undefined;
  if (typeof factory !== 'function' || typeof worker !== 'string') {
    throw new Error('the threaded wasm files of @tensorflow/tfjs-backend-wasm are not where 4.22 keeps them (wasm-out/)');
  }
  return { factory, worker };
}

/** Writes the worker and main scripts to a fresh temporary directory, removed when the process exits. */
async function writeScripts(factory: Factory, worker: string): Promise<{ workerPath: string; mainPath: string }> {
  const fs = await importNode('node:fs');
  const os = await importNode('node:os');
  const path = await importNode('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longtail-wasm-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const workerPath = path.join(dir, 'worker.cjs');
  const mainPath = path.join(dir, 'main.js');
  // The shipped string holds real newlines where the worker source has "\n" escapes inside string
  // literals; tfjs's browser loader re-escapes them the same way before making its Blob.
  fs.writeFileSync(workerPath, worker.replace(/\n/g, '\\n'));
  fs.writeFileSync(mainPath, `var WasmBackendModuleThreadedSimd = ${factory.toString()};\n`);
  return { workerPath, mainPath };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * Starts the threaded-SIMD wasm module in Node with `threads` XNNPACK threads and wraps it in the stock
 * `BackendWasm`. Throws (with the reason) when it cannot start; the caller falls back to one thread.
 */
export async function createThreadedWasmBackend(threads: number): Promise<tf.KernelBackend> {
  if (!isNode()) throw new Error('this loader is for Node.js; browsers use tfjs-backend-wasm threads directly');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  if (simd !== true) throw new Error('WebAssembly SIMD is not available, and tfjs ships threads only in its SIMD build');
  const wasmPkg = await import('@tensorflow/tfjs-backend-wasm');
  const fs = await importNode('node:fs');
  const { factory, worker } = await loadThreadedSources();
  const { workerPath, mainPath } = await writeScripts(factory, worker);
  let wasmBinaryPath = '';
  let failStart: (e: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    failStart = reject;
  });
  const config: Record<string, unknown> = {
    mainScriptUrlOrBlob: mainPath,
    locateFile: (file: string, prefix: string) => {
      if (file.endsWith('.worker.js')) return workerPath;
      if (file.endsWith('.wasm')) wasmBinaryPath = prefix + file;
      return prefix + file;
    },
    instantiateWasm: (
      info: { env: Record<string, unknown> } & Record<string, unknown>,
      receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) => {
      const env = { ...info.env, emscripten_num_logical_cores: () => 2 * threads };
      WebAssembly.instantiate(fs.readFileSync(wasmBinaryPath), { ...info, env } as WebAssembly.Imports).then(
        (r) => receive(r.instance, r.module),
        (e: unknown) => failStart(e instanceof Error ? e : new Error(String(e))),
      );
      return {};
    },
    onAbort: (what: unknown) => failStart(new Error(`the threaded wasm module aborted: ${String(what)}`)),
  };
  let module: EmscriptenModule;
  try {
    module = await withTimeout(Promise.race([factory(config), failed]), START_TIMEOUT_MS, 'starting the threaded wasm module');
  } catch (e) {
    (config as unknown as EmscriptenModule).PThread?.terminateAllThreads();
    throw e;
  }
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  wasmPkg.setThreadsCount(threads);
  unrefWorkers(module);
  const backend = new wasmPkg.BackendWasm(module as unknown as ConstructorParameters<typeof wasmPkg.BackendWasm>[0]);
  const got = wasmPkg.getThreadsCount();
  if (got !== threads) {
    backend.dispose();
    throw new Error(`the XNNPACK pool started with ${got} thread(s) instead of ${threads}`);
  }
  unrefWorkers(module);
  return backend;
}

/**
 * Lets Node exit while the pool's pthread workers idle: XNNPACK keeps its threads alive (waiting for
 * work), and a referenced worker keeps the process running after a script's last line.
 */
function unrefWorkers(module: EmscriptenModule): void {
  const pthread = (module as unknown as { PThread?: { unusedWorkers?: unknown[]; runningWorkers?: unknown[] } }).PThread;
  for (const w of [...(pthread?.unusedWorkers ?? []), ...(pthread?.runningWorkers ?? [])]) {
    (w as { unref?: () => void }).unref?.();
  }
}
