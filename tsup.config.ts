import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from 'tsup';

type Plugin = NonNullable<Options['esbuildPlugins']>[number];

const TESTING_DIR = fileURLToPath(new URL('./src/testing', import.meta.url));
const ADVANCED = fileURLToPath(new URL('./src/advanced.ts', import.meta.url));

/**
 * `longtail/testing` imports the rest of the library from the package by its own name ('longtail'), so
 * with `import` and with `require` alike it shares the root entry's single instance (registries, backend
 * state, classes) instead of carrying a copy. It imports from outside src/testing only src/advanced.ts
 * (resolved to 'longtail/advanced') and modules whose imported names src/index.ts re-exports (the
 * packaging test checks the shared state).
 */
const testingImportsRoot: Plugin = {
  name: 'testing-imports-root',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.startsWith(TESTING_DIR + sep)) return undefined;
      const target = resolve(dirname(args.importer), args.path);
      if (target.replace(/\.js$/, '.ts') === ADVANCED) return { path: 'longtail/advanced', external: true };
      const inside = !relative(TESTING_DIR, target).startsWith('..');
      return inside ? undefined : { path: 'longtail', external: true };
    });
  },
};

export default defineConfig({
  entry: { index: 'src/index.ts', advanced: 'src/advanced.ts', testing: 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  esbuildPlugins: [testingImportsRoot],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // tfjs and the optional native peers stay external: the user's copy must be the one the library registers into.
  external: [/^@tensorflow\//, 'seedrandom', 'ml-matrix'],
});
