/**
 * The one home for loading Node-only modules (`node:fs`, `node:zlib`, ...) and optional packages.
 *
 * Every such import goes through {@link importHidden}, whose specifier is a variable: bundlers
 * (esbuild, webpack, Vite, Rollup) leave it alone instead of failing on a module a browser cannot have,
 * so the root entry bundles for the browser with no externals, and Node loads the real module on first
 * use. Not exported from the package.
 */
import { LongTailError } from './errors.js';

/** The Node built-ins the library loads lazily, with their types. */
export interface NodeModules {
  'node:fs': typeof import('node:fs');
  'node:fs/promises': typeof import('node:fs/promises');
  'node:module': typeof import('node:module');
  'node:os': typeof import('node:os');
  'node:path': typeof import('node:path');
  'node:url': typeof import('node:url');
  'node:util': typeof import('node:util');
  'node:zlib': typeof import('node:zlib');
}

/** Imports a module whose name bundlers and tsc must not resolve (Node-only or optional). */
export function importHidden(specifier: string): Promise<unknown> {
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
}

/**
 * Imports a Node built-in (typed) without letting a bundler see it. Throws in a browser, where the
 * callers (file loaders and writers) have no meaning.
 */
export async function importNode<K extends keyof NodeModules>(name: K): Promise<NodeModules[K]> {
  if (!isNode()) {
    throw new LongTailError(
      'MISSING_INPUT',
      `expected Node.js for file access (${name}). Received: a browser or worker; fetch the bytes there and use the parse* functions (parseIdx, parseCsv, parseNpy)`,
      { module: name },
    );
  }
  return (await importHidden(name)) as NodeModules[K];
}

/** True under Node.js (not a browser or a web worker). */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** True when `e` says that the module `pkg` (or one of its files) could not be found. */
export function isMissingModule(e: unknown, pkg: string): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  const message = String(err?.message ?? e);
  const notFound =
    err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)|Could not resolve|Failed to (load|resolve)/.test(message);
  return notFound && message.includes(pkg);
}
