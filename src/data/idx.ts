/**
 * IDX files (the MNIST / Fashion-MNIST format, LeCun et al. 1998; Xiao, Rasul, Vollgraf 2017), plain or
 * gzip'd: a big-endian header — magic 0x0000 0x08 <rank> (2049 for labels, 2051 for images), then one
 * uint32 per dimension — followed by unsigned bytes (images from byte 16, labels from byte 8).
 */
import { LongTailError } from '../core/errors.js';
import type { LabeledArrays } from './labeled-data.js';
import { readInputFile } from './node-io.js';
import { importNode } from '../core/node.js';

/** A decoded IDX file of unsigned bytes. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

const UBYTE_TYPE = 0x08;

function corrupt(source: string, what: string, received: string): LongTailError {
  return new LongTailError('INVALID_DATA', `expected ${source} to be ${what}. Received: ${received}`, { source });
}

/**
 * Decodes an (uncompressed) IDX file of unsigned bytes. The returned data is a view into `bytes`.
 *
 * @param options - `expectedRank`: 1 for labels (magic 2049), 3 for images (magic 2051); `source`: a name for messages.
 * @throws LongTailError `INVALID_DATA` for a wrong magic number, rank or a truncated body.
 */
export function parseIdx(bytes: Uint8Array, options: { readonly expectedRank: number; readonly source?: string }): IdxArray {
  const source = options.source ?? 'IDX data';
  const rank = options.expectedRank;
  const magic = 0x0800 + rank;
  if (bytes.length < 4 + 4 * rank) {
    throw corrupt(source, `an IDX file with a ${4 + 4 * rank}-byte header`, `${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const got = view.getUint32(0, false);
  if (got !== magic || bytes[2] !== UBYTE_TYPE) {
    throw corrupt(source, `an IDX file with magic number ${magic} (unsigned bytes, rank ${rank})`, `magic=${got}`);
  }
  const dims: number[] = [];
  for (let a = 0; a < rank; a++) dims.push(view.getUint32(4 + 4 * a, false));
  const header = 4 + 4 * rank;
  const size = dims.reduce((p, d) => p * d, 1);
  if (bytes.length !== header + size) {
    throw corrupt(source, `${header} header bytes + ${size} data bytes for dims [${dims.join(', ')}]`, `${bytes.length} bytes`);
  }
  return { dims, data: bytes.subarray(header) };
}

/** True when the bytes start with the gzip magic 1f 8b. */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Reads an IDX file (gzip'd or not) from disk (Node only).
 *
 * @throws LongTailError `MISSING_INPUT` when the file is absent, `INVALID_DATA` when it is corrupt or truncated.
 */
export async function readIdxFile(path: string, options: { readonly expectedRank: number }): Promise<IdxArray> {
  const raw = await readInputFile(path, 'IDX file');
  let bytes = raw;
  if (isGzip(raw)) {
    const { gunzipSync } = await importNode('node:zlib');
    try {
      bytes = gunzipSync(raw);
    } catch (e) {
      throw corrupt(path, 'a complete gzip stream', (e as Error).message);
    }
  }
  return parseIdx(bytes, { expectedRank: options.expectedRank, source: path });
}

/**
 * Writes an IDX file of unsigned bytes, gzip'd when the path ends in `.gz` (Node only). Used by
 * `scripts/make-data-subset.ts`; the inverse of {@link readIdxFile}.
 */
export async function writeIdxFile(path: string, array: IdxArray): Promise<void> {
  const { writeFile } = await importNode('node:fs/promises');
  const rank = array.dims.length;
  const header = new Uint8Array(4 + 4 * rank);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x0800 + rank, false);
  array.dims.forEach((d, a) => view.setUint32(4 + 4 * a, d, false));
  const body = new Uint8Array(header.length + array.data.length);
  body.set(header, 0);
  body.set(array.data, header.length);
  if (path.endsWith('.gz')) {
    const { gzipSync } = await importNode('node:zlib');
    await writeFile(path, gzipSync(body, { level: 9 }));
  } else {
    await writeFile(path, body);
  }
}

/** Options of {@link readIdxImagesLabels}. */
export interface IdxPairPaths {
  readonly images: string;
  readonly labels: string;
}

/**
 * Reads an images file (magic 2051, [N, H, W]) and a labels file (magic 2049, [N]) into typed arrays with
 * sample shape [H, W, 1]; pixels stay uint8 in [0, 255].
 *
 * @throws LongTailError `MISSING_INPUT`, `INVALID_DATA` (corrupt files, or N differs between them).
 */
export async function readIdxImagesLabels(paths: IdxPairPaths): Promise<LabeledArrays> {
  const [images, labels] = await Promise.all([
    readIdxFile(paths.images, { expectedRank: 3 }),
    readIdxFile(paths.labels, { expectedRank: 1 }),
  ]);
  const n = images.dims[0] as number;
  if (labels.dims[0] !== n) {
    throw corrupt(paths.labels, `${n} labels (one per image in ${paths.images})`, `${labels.dims[0]} labels`);
  }
  return { x: images.data, sampleShape: [images.dims[1] as number, images.dims[2] as number, 1], y: Int32Array.from(labels.data) };
}

/** The Fashion-MNIST class names, index = label. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Where Debian's `dataset-fashion-mnist` package installs the files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Options of {@link loadFashionMnist}. */
export interface LoadMnistOptions {
  readonly split: 'train' | 'test';
  /** Directory with the four standard `*-idx?-ubyte.gz` files. Default {@link DEBIAN_FASHION_MNIST_DIR}. */
  readonly dir?: string;
}

/**
 * Loads MNIST-format files (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`, `t10k-…`) from a
 * directory: Fashion-MNIST from Debian's package by default, or MNIST / Fashion-MNIST from `dir`. Pixels
 * stay uint8 [N·28·28], sample shape [28, 28, 1]; use `fromArrays(data, { scale: 1 / 255 })` or
 * `standardizePixels` to make model inputs.
 *
 * @throws LongTailError `MISSING_INPUT` naming `apt-get install dataset-fashion-mnist` when the files are
 *   absent; `INVALID_DATA` when they are corrupt or truncated.
 */
export async function loadFashionMnist(options: LoadMnistOptions): Promise<LabeledArrays> {
  const dir = options.dir ?? DEBIAN_FASHION_MNIST_DIR;
  const prefix = options.split === 'train' ? 'train' : options.split === 'test' ? 't10k' : undefined;
  if (prefix === undefined) {
    throw new LongTailError('INVALID_OPTION', `expected split to be one of "train", "test". Received: split=${JSON.stringify(options.split)}`, {
      name: 'split',
    });
  }
  const { join } = await importNode('node:path');
  const { access } = await importNode('node:fs/promises');
  const paths = { images: join(dir, `${prefix}-images-idx3-ubyte.gz`), labels: join(dir, `${prefix}-labels-idx1-ubyte.gz`) };
  for (const p of [paths.images, paths.labels]) {
    try {
      await access(p);
    } catch {
      throw new LongTailError(
        'MISSING_INPUT',
        `expected the Fashion-MNIST file ${p} (install it with \`apt-get install dataset-fashion-mnist\`, or pass dir with the four *-ubyte.gz files). Received: no such file`,
        { path: p },
      );
    }
  }
  return readIdxImagesLabels(paths);
}
