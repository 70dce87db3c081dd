/**
 * A small reader for NumPy `.npy` files (what `numpy.save` writes) and for a JSON feature file, used by
 * examples/latent-synthesis.ts. Copy it into your project if you need it; it depends on nothing.
 *
 * The `.npy` format (numpy.lib.format, NEP 1): the magic bytes \x93NUMPY, a major and minor version byte,
 * the header length (uint16 little-endian for version 1.x; uint32 for 2.x and 3.x), then an ASCII (3.x:
 * UTF-8) Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }` padded with
 * spaces and a newline, then the raw array bytes. Supported: simple dtypes (`f4`, `f8`, signed and
 * unsigned integers of 1–8 bytes, `b1`) in either byte order, C order. Rejected with a clear message:
 * Fortran order, structured, string, object, complex and float16 dtypes, and truncated files.
 */
import { LongTailError } from '../src/index.js';

/** A decoded array: float32 stays float32, float64 stays float64, integers and booleans become int32. */
export interface NpyArray {
  /** The dtype as numpy wrote it, e.g. `'<f4'`, `'<i8'`, `'|u1'`. */
  readonly descr: string;
  readonly shape: readonly number[];
  /** Row-major values. */
  readonly data: Float32Array | Float64Array | Int32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function bad(message: string, source: string): LongTailError {
  return new LongTailError('INVALID_DATA', `${message} (${source})`, { source });
}

/** The value of `key` in the header dict, as the raw Python literal text. */
function headerField(header: string, key: string, pattern: RegExp, source: string): RegExpMatchArray {
  const m = header.match(new RegExp(`['"]${key}['"]\\s*:\\s*${pattern.source}`));
  if (m === null) throw bad(`expected a '${key}' entry in the .npy header. Received: ${header.trim()}`, source);
  return m;
}

/**
 * Decodes the bytes of a `.npy` file.
 *
 * @throws LongTailError `INVALID_DATA` for anything that is not a C-order array of a supported dtype.
 */
export function parseNpy(bytes: Uint8Array, options: { readonly source?: string } = {}): NpyArray {
  const source = options.source ?? '.npy bytes';
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw bad('expected a .npy file starting with \\x93NUMPY. Received: other bytes', source);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6] as number;
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('expected a complete .npy header. Received: a truncated file', source);
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw bad(`expected .npy format version 1, 2 or 3. Received: version=${major}.${bytes[7]}`, source);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) throw bad('expected a complete .npy header. Received: a truncated file', source);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));

  if (/['"]descr['"]\s*:\s*\[/.test(header)) throw bad('expected a simple dtype. Received: a structured dtype', source);
  const descr = headerField(header, 'descr', /['"]([^'"]*)['"]/, source)[1] as string;
  const fortran = headerField(header, 'fortran_order', /(True|False)/, source)[1];
  if (fortran === 'True') throw bad('expected C order. Received: fortran_order=True (save np.ascontiguousarray(a))', source);
  const shapeText = headerField(header, 'shape', /\(([^)]*)\)/, source)[1] as string;
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      if (!/^\d+L?$/.test(s)) throw bad(`expected integer dimensions. Received: shape=(${shapeText})`, source);
      return Number.parseInt(s, 10);
    });

  const m = descr.match(/^([<>|=])([fiub])(\d+)$/);
  if (m === null) throw bad(`expected a float, integer or bool dtype. Received: descr='${descr}'`, source);
  const [, order, kind, sizeText] = m as unknown as [string, string, string, string];
  const size = Number(sizeText);
  const supported = kind === 'f' ? size === 4 || size === 8 : kind === 'b' ? size === 1 : [1, 2, 4, 8].includes(size);
  if (!supported) throw bad(`expected a float32/float64, integer or bool dtype. Received: descr='${descr}'`, source);
  const little = order !== '>'; // '=' is native order, which is little-endian on every platform tfjs runs on

  const count = shape.reduce((a, b) => a * b, 1);
  const expectedBytes = count * size;
  if (bytes.length - dataStart !== expectedBytes) {
    throw bad(`expected ${expectedBytes} data bytes for shape (${shape.join(', ')}) of '${descr}'. Received: ${bytes.length - dataStart}`, source);
  }
  const at = (i: number): number => dataStart + i * size;
  let data: Float32Array | Float64Array | Int32Array;
  if (kind === 'f' && size === 4) {
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(at(i), little);
  } else if (kind === 'f') {
    data = new Float64Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat64(at(i), little);
  } else {
    data = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const v = readInteger(view, at(i), kind, size, little);
      if (v < -2147483648 || v > 2147483647) throw bad(`expected integers that fit int32. Received: value ${v} at flat index ${i}`, source);
      data[i] = Number(v);
    }
  }
  return { descr, shape, data };
}

function readInteger(view: DataView, offset: number, kind: string, size: number, little: boolean): number | bigint {
  const signed = kind === 'i';
  switch (size) {
    case 1:
      return signed ? view.getInt8(offset) : view.getUint8(offset);
    case 2:
      return signed ? view.getInt16(offset, little) : view.getUint16(offset, little);
    case 4:
      return signed ? view.getInt32(offset, little) : view.getUint32(offset, little);
    default:
      return signed ? view.getBigInt64(offset, little) : view.getBigUint64(offset, little);
  }
}

/** Features [N, D] as float32 with int32 labels [N]. */
export interface FeatureSet {
  readonly features: Float32Array;
  readonly dim: number;
  readonly labels: Int32Array;
}

/** Pairs a `[N, D]` float array with `[N]` integer labels (both as `parseNpy` returns them). */
export function featureSetFromNpy(features: NpyArray, labels: NpyArray, source = '.npy files'): FeatureSet {
  if (features.shape.length !== 2 || !(features.data instanceof Float32Array || features.data instanceof Float64Array)) {
    throw bad(`expected float features of shape [N, D]. Received: descr='${features.descr}' shape=(${features.shape.join(', ')})`, source);
  }
  if (labels.shape.length !== 1 || !(labels.data instanceof Int32Array)) {
    throw bad(`expected integer labels of shape [N]. Received: descr='${labels.descr}' shape=(${labels.shape.join(', ')})`, source);
  }
  if (labels.shape[0] !== features.shape[0]) {
    throw bad(`expected one label per feature row (${features.shape[0]}). Received: ${labels.shape[0]} labels`, source);
  }
  return { features: Float32Array.from(features.data), dim: features.shape[1] as number, labels: labels.data };
}

/**
 * Parses a JSON feature file: `{ "features": [[...], ...], "labels": [...] }` (one row per sample).
 *
 * @throws LongTailError `INVALID_DATA` for ragged rows, non-finite values or non-integer labels.
 */
export function parseFeatureJson(text: string, source = 'JSON features'): FeatureSet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw bad(`expected JSON. Received: ${e instanceof Error ? e.message : String(e)}`, source);
  }
  const { features, labels } = (parsed ?? {}) as { features?: unknown; labels?: unknown };
  if (!Array.isArray(features) || !Array.isArray(labels) || features.length === 0) {
    throw bad('expected { "features": number[][], "labels": number[] } with at least one row', source);
  }
  if (labels.length !== features.length) throw bad(`expected one label per feature row (${features.length}). Received: ${labels.length} labels`, source);
  const first: unknown = features[0];
  const dim = Array.isArray(first) ? first.length : 0;
  if (dim === 0) throw bad('expected non-empty feature rows', source);
  const out = new Float32Array(features.length * dim);
  features.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== dim) throw bad(`expected every row of length ${dim}. Received: row ${i} of length ${Array.isArray(row) ? row.length : 'none'}`, source);
    row.forEach((v: unknown, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`expected finite numbers. Received: features[${i}][${j}]=${String(v)}`, source);
      out[i * dim + j] = v;
    });
  });
  const y = Int32Array.from(labels, (v: unknown, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(`expected integer labels >= 0. Received: labels[${i}]=${String(v)}`, source);
    return v;
  });
  return { features: out, dim, labels: y };
}
