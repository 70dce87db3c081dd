import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // tfjs and the optional native peers stay external: the user's copy must be the one the library registers into.
  external: [/^@tensorflow\//, 'seedrandom', 'ml-matrix'],
});
