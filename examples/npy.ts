/**
 * The `.npy` and JSON feature readers moved into the library (src/data/npy.ts): import `parseNpy`,
 * `readNpyFile`, `readNpyFeaturesLabels`, `parseFeatureJson` and `loadFeatureJson` from 'longtail'.
 * This re-export remains only for test/examples/examples.test.ts and goes once that imports from the library.
 */
export { parseNpy, type NpyArray } from '../src/index.js';
