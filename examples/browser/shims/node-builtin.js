// tfjs-backend-wasm's ESM build imports Node's fs, path, os and perf_hooks for the Emscripten runtime's
// Node branch, which never runs in a browser. Bundlers map them to empty modules through the package's
// `browser` field; without a bundler, the import map in index.html points them here.
export default {};
