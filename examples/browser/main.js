// The browser example: users write exactly these imports; the import map in index.html resolves them.
import * as tf from '@tensorflow/tfjs';
import {
  classifier,
  seededRng,
  trainer,
  formatReport,
  fromArrays,
  linearHead,
  logitAdjustedLoss,
  mlpBackbone,
  parseIdx,
  useBackend,
} from 'longtail';

const DATA = new URL('../../data/fashion-mnist-lt-600/', import.meta.url);
const CLASS_NAMES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const params = new URLSearchParams(location.search);
const EPOCHS = Number(params.get('epochs') ?? 8);

const show = (id, text) => {
  document.getElementById(id).textContent = text;
};

/** Fetches a gzip'd IDX file and decodes it with the library's parser (DecompressionStream does the gunzip). */
async function fetchIdx(name, rank) {
  const response = await fetch(new URL(name, DATA));
  if (!response.ok) throw new Error(`expected ${name} from ${DATA}. Received: HTTP ${response.status}`);
  const bytes = new Uint8Array(await new Response(response.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  return parseIdx(bytes, { expectedRank: rank, source: name });
}

async function loadSplit(prefix) {
  const [images, labels] = await Promise.all([fetchIdx(`${prefix}-images-idx3-ubyte.gz`, 3), fetchIdx(`${prefix}-labels-idx1-ubyte.gz`, 1)]);
  return fromArrays({ x: images.data, sampleShape: [784], y: Int32Array.from(labels.data) }, { scale: 1 / 255 });
}

/**
 * Where the page serves tfjs-backend-wasm's three .wasm binaries (tfjs-backend-wasm.wasm, -simd.wasm,
 * -threaded-simd.wasm): here straight from the package's dist/ folder; with a bundler, copy them to your
 * public folder and point wasmPaths there.
 */
const WASM_PATHS = new URL('/node_modules/@tensorflow/tfjs-backend-wasm/dist/', location.href).href;

/** The requested backend (?backend=webgl|wasm|cpu, default webgl), else the CPU backend; says which one runs and why. */
async function chooseBackend() {
  const wanted = params.get('backend') ?? 'webgl';
  try {
    await useBackend(wanted === 'wasm' ? { name: 'wasm', wasmPaths: WASM_PATHS } : wanted);
    return { name: tf.getBackend(), note: '' };
  } catch (e) {
    await useBackend('cpu');
    return { name: tf.getBackend(), note: ` (fallback: ${wanted} unavailable — ${e.message})` };
  }
}

async function main() {
  const backend = await chooseBackend();
  show('backend', `${backend.name}${backend.note}`);
  document.body.dataset.backend = backend.name;
  show('status', 'loading data…');
  const [train, test] = await Promise.all([loadSplit('train'), loadSplit('t10k')]);

  show('status', `training ${EPOCHS} epochs…`);
  const rng = seededRng(0);
  const model = classifier({
    backbone: mlpBackbone({ inputDim: 784, hiddenSizes: [64], rng: rng.fork('backbone') }),
    head: linearHead({ inputDim: 64, numClasses: 10, rng: rng.fork('head') }),
  });
  const loop = trainer({ model, loss: logitAdjustedLoss(), seed: 0, epochs: EPOCHS, batchSize: 128, progress: 'none' });
  const start = performance.now();
  await loop.fit(train);
  const seconds = (performance.now() - start) / 1000;
  const report = loop.evaluate(test);

  show('balanced', `${(100 * report.balancedAccuracy).toFixed(2)}%`);
  show('top1', `${(100 * report.top1).toFixed(2)}%`);
  show('time', `${seconds.toFixed(1)} s`);
  show('report', formatReport(report, { classNames: CLASS_NAMES, title: `MLP + logit-adjusted loss on ${backend.name}` }));
  loop.dispose();
  model.dispose();
  tf.dispose([train.x, test.x]);
  show('status', `done; ${tf.memory().numTensors} tensors alive`);
  document.body.dataset.status = 'done';
}

main().catch((e) => {
  show('status', `error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  document.body.dataset.status = 'error';
  console.error(e);
});
