/**
 * The small real long-tailed Fashion-MNIST subset kept in the repository's `data/` directory (not in the
 * npm package) for the demo and the tests. See data/README.md for provenance and license.
 */
import { checkOptions } from '../core/options.js';
import { LongTailError } from '../core/errors.js';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from './idx.js';
import type { LabeledArrays } from './labeled-data.js';
import { importNode } from '../core/node.js';

/** Directory name of the subset inside `data/`. */
export const FASHION_MNIST_LT_SUBSET_DIR = 'fashion-mnist-lt-600';

/** The shipped subset: a long-tailed training set and a balanced test set. */
export interface FashionMnistLTSubset {
  /** n_max 600, IF 100, exponential: counts 600, 359, 215, 129, 77, 46, 27, 16, 10, 6 (1,485 images). */
  readonly train: LabeledArrays;
  /** 200 images per class from the official test set (2,000 images). */
  readonly test: LabeledArrays;
  readonly classNames: readonly string[];
  /** The directory the files were read from. */
  readonly dir: string;
}

/**
 * Loads the shipped long-tailed Fashion-MNIST subset (uint8 pixels, sample shape [28, 28, 1]).
 * Without `dir`, looks for `data/fashion-mnist-lt-600/` in the package root above this module and above
 * the working directory: it exists in a clone of the repository, not in the npm package — use
 * {@link loadFashionMnist} with Debian's `dataset-fashion-mnist` there.
 *
 * @throws LongTailError `MISSING_INPUT` when the directory cannot be found; `INVALID_DATA` for corrupt files.
 */
export async function loadFashionMnistLTSubset(options: { readonly dir?: string } = {}): Promise<FashionMnistLTSubset> {
  checkOptions('loadFashionMnistLTSubset options', options, { dir: true });
  const dir = options.dir ?? (await findSubsetDir());
  const [train, test] = await Promise.all([loadFashionMnist({ split: 'train', dir }), loadFashionMnist({ split: 'test', dir })]);
  return { train, test, classNames: FASHION_MNIST_CLASSES, dir };
}

async function findSubsetDir(): Promise<string> {
  const { dirname, join } = await importNode('node:path');
  const { existsSync } = await importNode('node:fs');
  const { fileURLToPath } = await importNode('node:url');
  const starts: string[] = [];
  // ESM exposes import.meta.url; the CJS build has __dirname instead.
  const metaUrl = (import.meta as { url?: string }).url;
  if (typeof metaUrl === 'string' && metaUrl.startsWith('file:')) starts.push(dirname(fileURLToPath(metaUrl)));
  else if (typeof __dirname === 'string') starts.push(__dirname);
  starts.push(process.cwd());
  for (const start of starts) {
    let d = start;
    for (;;) {
      const candidate = join(d, 'data', FASHION_MNIST_LT_SUBSET_DIR);
      if (existsSync(join(candidate, 'train-labels-idx1-ubyte.gz'))) return candidate;
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  throw new LongTailError(
    'MISSING_INPUT',
    `expected data/${FASHION_MNIST_LT_SUBSET_DIR}/ in the longtail repository (it is not in the npm package; pass dir, or use loadFashionMnist after \`apt-get install dataset-fashion-mnist\`). Received: not found above ${starts.join(' or ')}`,
    { searched: starts },
  );
}
