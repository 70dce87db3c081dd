/**
 * tfjs-node on Node ≥ 23.
 *
 * @tensorflow/tfjs-node 4.22 (its last release) imports `isNullOrUndefined` and `isArray` from Node's
 * `util` (src/nodejs_kernel_backend.ts, src/kernels/TopK.ts) and calls them at every op. Node 23 removed
 * the legacy `util.is*` functions, so the first op fails with "util_1.isNullOrUndefined is not a
 * function" (tensorflow/tfjs#8609; fixed upstream in #8425, never released). Because tfjs-node reads
 * them from the `util` module object at call time, putting them back on that object is enough.
 */
import { importNode } from '../core/node.js';

/**
 * The `util` functions tfjs-node 4.22 calls, with Node 20's semantics (`util.isArray` is
 * `Array.isArray`; `util.isNullOrUndefined(x)` is `x === null || x === undefined`), minus the deprecation
 * warnings.
 */
export const TFJS_NODE_UTIL_FUNCTIONS: Readonly<Record<'isNullOrUndefined' | 'isArray', (value: unknown) => boolean>> = {
  isNullOrUndefined: (value) => value === null || value === undefined,
  isArray: (value) => Array.isArray(value),
};

/**
 * Puts each function of {@link TFJS_NODE_UTIL_FUNCTIONS} on `util` where it is absent (never replaces
 * one that exists) and returns the names it installed.
 */
export function installTfjsNodeUtilFunctions(util: Record<string, unknown>): string[] {
  const installed: string[] = [];
  for (const [name, fn] of Object.entries(TFJS_NODE_UTIL_FUNCTIONS)) {
    if (typeof util[name] === 'function') continue;
    Object.defineProperty(util, name, { value: fn, writable: true, configurable: true, enumerable: true });
    installed.push(name);
  }
  return installed;
}

/** Installs the functions on Node's own `util` module (the object tfjs-node's `require('util')` returns). */
export async function ensureTfjsNodeUtilFunctions(): Promise<string[]> {
  const mod = (await importNode('node:util')) as unknown as { default?: Record<string, unknown> };
  // ESM import of a built-in: `default` is the CommonJS module.exports object that require() returns.
  return installTfjsNodeUtilFunctions(mod.default ?? (mod as Record<string, unknown>));
}
