// seedrandom ships CommonJS/UMD only. Loaded as classic scripts (see index.html), seedrandom.js sets
// Math.seedrandom and lib/alea.js sets window.alea; this module re-exports them the way
// `import seedrandom from 'seedrandom'` sees them under a bundler. Not needed with Vite, esbuild or webpack.
const seedrandom = Math.seedrandom;
if (typeof seedrandom !== 'function' || typeof globalThis.alea !== 'function') {
  throw new Error('expected node_modules/seedrandom/seedrandom.js and lib/alea.js to be loaded as classic scripts before the modules');
}
seedrandom.alea = globalThis.alea;
export default seedrandom;
