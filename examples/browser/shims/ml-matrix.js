// ml-matrix's ESM entry re-exports its CommonJS build, which a browser cannot load. Its UMD build
// (loaded as a classic script in index.html) sets window.mlMatrix; this module re-exports it.
// Not needed with Vite, esbuild or webpack.
const m = globalThis.mlMatrix;
if (m === undefined) throw new Error('expected node_modules/ml-matrix/matrix.umd.js to be loaded as a classic script before the modules');
export const { Matrix, EigenvalueDecomposition, CholeskyDecomposition, SingularValueDecomposition, LuDecomposition, QrDecomposition, inverse, solve } = m;
export default m;
