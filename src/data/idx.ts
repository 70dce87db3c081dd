/**
 * IDX files (the MNIST / Fashion-MNIST format, LeCun et al. 1998; Xiao, Rasul, Vollgraf 2017), plain or
 * gzip'd: a big-endian header — magic 0x0000 0x08 <rank> (2049 for labels, 2051 for images), then one
 * uint32 per dimension — followed by unsigned bytes (images from byte 16, labels from byte 8).
 */
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkInteger } from '../core/validate.js';
import { gunzipLimited } from './gzip-limit.js';
import { LongTailError, invalid } from '../core/errors.js';
import type { LabeledArrays } from './labeled-data.js';
import { readInputFile } from './node-io.js';
import { importNode } from '../core/node.js';

/** A decoded IDX file of unsigned bytes. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

const UBYTE_TYPE = 0x08;

/** Default cap on the size a gzip'd IDX file may decompress to (1 GiB); see {@link ReadIdxOptions.maxBytes}. */
export const IDX_MAX_BYTES = 2 ** 30;

/** Options of {@link parseIdx}. */
export interface ParseIdxOptions {
  /** 1 for labels (magic 2049), 3 for images (magic 2051); any rank in [1, 255]. */
  readonly expectedRank: number;
  /** A name for messages. Default `'IDX data'`. */
  readonly source?: string;
}

/** Options of {@link readIdxFile}. */
export interface ReadIdxOptions {
  /** As {@link ParseIdxOptions.expectedRank}. */
  readonly expectedRank: number;
  /**
   * Largest decompressed size (header + data bytes) a gzip'd file may claim in its header; larger claims
   * are rejected before decompressing. Default {@link IDX_MAX_BYTES} (1 GiB; Fashion-MNIST's training
   * images are 47 MB).
   */
  readonly maxBytes?: number;
}

const PARSE_KEYS: OptionKeys<ParseIdxOptions> = { expectedRank: true, source: true };
const READ_KEYS: OptionKeys<ReadIdxOptions> = { expectedRank: true, maxBytes: true };
const ARRAY_KEYS: OptionKeys<IdxArray> = { dims: true, data: true };

function corrupt(source: string, what: string, received: string): LongTailError {
  return new LongTailError('INVALID_DATA', `expected ${source} to be ${what}. Received: ${received}`, { source });
}

function checkIdxRank(rank: number): number {
  checkInteger('expectedRank', rank, { min: 1 });
  if (rank > 255) throw invalid('INVALID_OPTION', 'expectedRank <= 255 (one header byte)', 'expectedRank', rank);
  return rank;
}

/** The header of an IDX file of unsigned bytes: its dims and total length, after checking the magic number. */
function idxHeader(bytes: Uint8Array, rank: number, source: string): { dims: number[]; header: number; size: number } {
  const magic = 0x0800 + rank;
  const header = 4 + 4 * rank;
  if (isGzip(bytes)) {
    throw corrupt(source, 'uncompressed IDX bytes (gunzip first: readIdxFile does, or DecompressionStream(\'gzip\') in a browser)', 'gzip data (1f 8b)');
  }
  if (bytes.length < header) throw corrupt(source, `an IDX file with a ${header}-byte header`, `${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const got = view.getUint32(0, false);
  if (got !== magic || bytes[2] !== UBYTE_TYPE) {
    throw corrupt(source, `an IDX file with magic number ${magic} (unsigned bytes, rank ${rank})`, `magic=${got}`);
  }
  const dims: number[] = [];
  for (let a = 0; a < rank; a++) dims.push(view.getUint32(4 + 4 * a, false));
  return { dims, header, size: dims.reduce((p, d) => p * d, 1) };
}

/**
 * Decodes an (uncompressed) IDX file of unsigned bytes. The returned data is a view into `bytes`.
 * Python: `np.frombuffer(raw, np.uint8, offset=16).reshape(n, 28, 28)`.
 *
 * @throws LongTailError `INVALID_DATA` for gzip'd bytes (use {@link readIdxFile}), a wrong magic number or
 *   rank, or a truncated or overlong body; `INVALID_OPTION` / `UNKNOWN_OPTION` for bad options.
 */
export function parseIdx(bytes: Uint8Array, options: ParseIdxOptions): IdxArray {
  const o = checkOptions('parseIdx options', options, PARSE_KEYS);
  const rank = checkIdxRank(o.expectedRank);
  const source = o.source ?? 'IDX data';
  const { dims, header, size } = idxHeader(bytes, rank, source);
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
 * Reads an IDX file (gzip'd or not) from disk (Node only). A gzip'd file is inflated under a size limit:
 * its IDX header is decoded from the first compressed bytes, then the whole stream may inflate to at most
 * the header + data length that header states (itself at most `maxBytes`), so a gzip bomb fails after
 * that many bytes rather than filling memory.
 *
 * @throws LongTailError `MISSING_INPUT` when the file is absent; `INVALID_DATA` when it is corrupt,
 *   truncated, longer than its header says, or claims more than `maxBytes`.
 */
export async function readIdxFile(path: string, options: ReadIdxOptions): Promise<IdxArray> {
  const o = checkOptions('readIdxFile options', options, READ_KEYS);
  const rank = checkIdxRank(o.expectedRank);
  const maxBytes = checkInteger('maxBytes', o.maxBytes ?? IDX_MAX_BYTES, { min: 1 });
  const raw = await readInputFile(path, 'IDX file');
  let bytes = raw;
  if (isGzip(raw)) {
    const { gunzipSync } = await importNode('node:zlib');
    try {
      bytes = gunzipLimited(raw, { gunzip: gunzipSync, headerLength: 4 + 4 * rank, totalLength: (head) => claimedLength(head, rank, maxBytes, path), source: path });
    } catch (e) {
      if (e instanceof LongTailError) throw e;
      throw corrupt(path, 'a complete gzip stream', (e as Error).message);
    }
  }
  return parseIdx(bytes, { expectedRank: rank, source: path });
}

/** Header + data length an IDX header states, checked against `maxBytes`. */
function claimedLength(head: Uint8Array, rank: number, maxBytes: number, source: string): number {
  const { dims, header, size } = idxHeader(head, rank, source);
  if (header + size > maxBytes) {
    throw corrupt(source, `at most maxBytes=${maxBytes} bytes after decompression (pass a larger maxBytes for a larger file)`, `dims [${dims.join(', ')}] = ${header + size} bytes`);
  }
  return header + size;
}

/**
 * Checks what {@link writeIdxFile} is given, so it never writes a file {@link readIdxFile} rejects: dims
 * of rank [1, 255] with integer entries in [0, 2³²), and a Uint8Array of exactly Π dims values.
 */
function checkIdxArray(array: IdxArray): number {
  checkOptions('writeIdxFile array', array, ARRAY_KEYS);
  const { dims, data } = array;
  if (!Array.isArray(dims) || dims.length < 1 || dims.length > 255) {
    throw invalid('INVALID_OPTION', 'dims to be an array of 1 to 255 sizes', 'dims', dims);
  }
  dims.forEach((d, a) => {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw invalid('INVALID_OPTION', 'every dims entry to be an integer in [0, 2^32)', `dims[${a}]`, d);
  });
  if (!(data instanceof Uint8Array)) {
    throw invalid('INVALID_OPTION', 'data to be a Uint8Array of unsigned bytes (Uint8Array.from(values) after checking 0..255)', 'data', Object.prototype.toString.call(data));
  }
  const size = dims.reduce((p, d) => p * d, 1);
  if (data.length !== size) throw invalid('SHAPE_MISMATCH', `data.length = Π dims = ${size}`, 'data.length', data.length);
  return dims.length;
}

/**
 * Writes an IDX file of unsigned bytes, gzip'd when the path ends in `.gz` (Node only). Used by
 * `scripts/make-data-subset.ts`; the inverse of {@link readIdxFile} (with `expectedRank: dims.length`).
 *
 * @throws LongTailError `INVALID_OPTION` / `SHAPE_MISMATCH` / `UNKNOWN_OPTION` for an array the readers
 *   would reject (nothing is written).
 */
export async function writeIdxFile(path: string, array: IdxArray): Promise<void> {
  const { writeFile } = await importNode('node:fs/promises');
  const rank = checkIdxArray(array);
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

const PAIR_KEYS: OptionKeys<IdxPairPaths> = { images: true, labels: true };

/**
 * Reads an images file (magic 2051, [N, H, W]) and a labels file (magic 2049, [N]) into typed arrays with
 * sample shape [H, W, 1]; pixels stay uint8 in [0, 255].
 *
 * @throws LongTailError `MISSING_INPUT`, `INVALID_DATA` (corrupt files, or N differs between them).
 */
export async function readIdxImagesLabels(paths: IdxPairPaths): Promise<LabeledArrays> {
  checkOptions('readIdxImagesLabels paths', paths, PAIR_KEYS);
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
  /** Directory with the four standard `*-idx?-ubyte.gz` files. Default `/usr/share/datasets/fashion-mnist` (Debian's `dataset-fashion-mnist`). */
  readonly dir?: string;
}

const MNIST_KEYS: OptionKeys<LoadMnistOptions> = { split: true, dir: true };

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
  checkOptions('loadFashionMnist options', options, MNIST_KEYS);
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
