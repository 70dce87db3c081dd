/**
 * Makes the small long-tailed Fashion-MNIST subset shipped in data/fashion-mnist-lt-600/ from Debian's
 * `dataset-fashion-mnist` files: a training set with the exponential profile n_max 600, IF 100 (counts
 * 600, 359, 215, 129, 77, 46, 27, 16, 10, 6) and a balanced test set of 200 images per class. Seeded, so
 * re-running it rewrites identical files.
 *
 * Run: npx tsx scripts/make-data-subset.ts [sourceDir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRng } from '../src/core/rng.js';
import { formatLongTailSplit, longTailCounts, longTailIndices } from '../src/data/long-tail.js';
import { DEBIAN_FASHION_MNIST_DIR, loadFashionMnist, writeIdxFile } from '../src/data/idx.js';
import type { LabeledArrays } from '../src/data/labeled-data.js';
import { FASHION_MNIST_LT_SUBSET_DIR } from '../src/data/shipped.js';

const SEED = 0;
const source = process.argv[2] ?? DEBIAN_FASHION_MNIST_DIR;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'data', FASHION_MNIST_LT_SUBSET_DIR);

async function writeSubset(prefix: 'train' | 't10k', set: LabeledArrays, indices: Int32Array): Promise<void> {
  const [h, w] = set.sampleShape as [number, number, number];
  const images = new Uint8Array(indices.length * h * w);
  const labels = new Uint8Array(indices.length);
  indices.forEach((src, dst) => {
    images.set(set.x.subarray(src * h * w, (src + 1) * h * w), dst * h * w);
    labels[dst] = set.y[src] as number;
  });
  await writeIdxFile(join(out, `${prefix}-images-idx3-ubyte.gz`), { dims: [indices.length, h, w], data: images });
  await writeIdxFile(join(out, `${prefix}-labels-idx1-ubyte.gz`), { dims: [indices.length], data: labels });
}

const rng = seededRng(SEED);
const train = await loadFashionMnist({ split: 'train', dir: source });
const test = await loadFashionMnist({ split: 'test', dir: source });
const trainCounts = longTailCounts({ profile: 'exponential', numClasses: 10, maxCount: 600, imbalanceFactor: 100 });
const trainIndices = longTailIndices(train.y, { counts: trainCounts, rng: rng.fork('train') });
const testCounts = new Int32Array(10).fill(200);
const testIndices = longTailIndices(test.y, { counts: testCounts, rng: rng.fork('test') });

await mkdir(out, { recursive: true });
await writeSubset('train', train, trainIndices);
await writeSubset('t10k', test, testIndices);
const dataset = `fashion-mnist train (Debian dataset-fashion-mnist), longtail seededRng(${SEED}).fork('train')`;
await writeFile(
  join(out, 'train-split.json'),
  `${formatLongTailSplit({ dataset, profile: 'exponential', imbalanceFactor: 100, counts: trainCounts, indices: trainIndices })}\n`,
);
await writeFile(
  join(out, 'test-split.json'),
  `${formatLongTailSplit({
    dataset: `fashion-mnist t10k (Debian dataset-fashion-mnist), longtail seededRng(${SEED}).fork('test')`,
    profile: 'step',
    imbalanceFactor: 1,
    counts: testCounts,
    indices: testIndices,
  })}\n`,
);
process.stdout.write(`wrote ${out}: train ${trainIndices.length} (${Array.from(trainCounts).join(', ')}), test ${testIndices.length}\n`);
