/**
 * Feature files written in Python: NumPy `.npy` files (what `numpy.save` writes) and a plain JSON form.
 *
 * The `.npy` format (NEP 1, `numpy.lib.format`): the magic bytes `\x93NUMPY`, a major and minor version
 * byte, the header length (uint16 little-endian in version 1.x, uint32 in 2.x and 3.x), then a Python dict
 * literal `{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }` (latin-1; UTF-8 in 3.x) padded
 * with spaces and a newline, then the raw values in C (row-major) order.
 */
import { LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkLabels } from '../core/validate.js';
import { checkLabeledArrays, type LabeledArrays, type SampleValues } from './labeled-data.js';
import { readInputFile } from './node-io.js';

/** The numpy dtypes {@link parseNpy} reads (numpy's own names). */
export type NpyDtype =
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';

/** Values of a decoded `.npy` array: see {@link NpyArray.data} for which dtype becomes which. */
export type NpyValues = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A decoded `.npy` array. */
export interface NpyArray {
  /** The stored dtype, e.g. `'float32'`, `'int64'`. */
  readonly dtype: NpyDtype;
  /** The dtype as numpy wrote it in the header, with its byte order: `'<f4'`, `'>i2'`, `'|u1'`. */
  readonly descr: string;
  /** `[]` for a 0-d array. */
  readonly shape: readonly number[];
  /**
   * Row-major values in a new array (never a view of the input bytes): float32 → Float32Array, float64 →
   * Float64Array, uint8 and bool → Uint8Array, other integers → Int32Array (values must fit int32).
   */
  readonly data: NpyValues;
}

/** Options of {@link parseNpy}. */
export interface ParseNpyOptions {
  /** A name for error messages, e.g. the file path. Default `'.npy bytes'`. */
  readonly source?: string;
  /** Accept NaN and ±∞ in float arrays. Default false: they are `NON_FINITE`. */
  readonly allowNonFinite?: boolean;
}

/** Options of {@link readNpyFile}. */
export interface ReadNpyOptions {
  /** As {@link ParseNpyOptions.allowNonFinite}. */
  readonly allowNonFinite?: boolean;
}

const PARSE_KEYS: OptionKeys<ParseNpyOptions> = { source: true, allowNonFinite: true };
const READ_KEYS: OptionKeys<ReadNpyOptions> = { allowNonFinite: true };

function checkFlag(name: string, value: boolean | undefined): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new LongTailError('INVALID_OPTION', `expected ${name} to be true or false. Received: ${name}=${JSON.stringify(value)}`, { name });
  }
  return value ?? false;
}

/** The row-major multi-index of flat index `i` in `shape`, as `[i0, i1, …]`. */
function multiIndex(i: number, shape: readonly number[]): string {
  const out: number[] = [];
  let rest = i;
  for (let a = shape.length - 1; a >= 0; a--) {
    const d = shape[a] as number;
    out.unshift(rest % d);
    rest = Math.floor(rest / d);
  }
  return `[${out.join(', ')}]`;
}

/** The first NaN or ±∞ in float values, as `NON_FINITE` naming its position (`what` ends the message). */
function checkFiniteValues(values: ArrayLike<number>, shape: readonly number[], what: string, source: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      throw new LongTailError('NON_FINITE', `expected finite values${what}. Received: ${v} at ${multiIndex(i, shape)} (${source}; allowNonFinite: true accepts it)`, {
        source,
        index: i,
      });
    }
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** descr kind + item size → dtype; anything absent is unsupported. */
const DTYPES: Readonly<Record<string, NpyDtype>> = {
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
};

function bad(message: string, source: string): LongTailError {
  return new LongTailError('INVALID_DATA', `${message} (${source})`, { source });
}

/** The value of `key` in the header dict as the captures of `pattern` (a Python literal). */
function headerField(header: string, key: string, pattern: RegExp, source: string): RegExpMatchArray {
  const m = header.match(new RegExp(`['"]${key}['"]\\s*:\\s*${pattern.source}`));
  if (m === null) throw bad(`expected a '${key}' entry in the .npy header. Received: ${header.trim()}`, source);
  return m;
}

interface NpyHeader {
  readonly descr: string;
  readonly dtype: NpyDtype;
  readonly size: number;
  readonly little: boolean;
  readonly shape: number[];
  readonly dataStart: number;
}

function parseHeader(bytes: Uint8Array, source: string): NpyHeader {
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

  // A structured dtype's descr is a list of (name, type) tuples.
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
      // Python 2 wrote long integers with an L suffix.
      if (!/^\d+L?$/.test(s)) throw bad(`expected integer dimensions. Received: shape=(${shapeText})`, source);
      return Number.parseInt(s, 10);
    });

  const m = descr.match(/^([<>|=])([a-zA-Z])(\d+)$/);
  const dtype = m === null ? undefined : DTYPES[`${m[2]}${m[3]}`];
  if (m === null || dtype === undefined) {
    throw bad(`expected a float32/float64, integer or bool dtype. Received: descr='${descr}'`, source);
  }
  // '=' is native order, and numpy writes '<' or '>' in files anyway; '|' means a single byte.
  const little = m[1] === '<' || m[1] === '|' || (m[1] === '=' && HOST_LITTLE_ENDIAN);
  return { descr, dtype, size: Number(m[3]), little, shape, dataStart };
}

/** A copy of `count · size` bytes from `start`, in a new (aligned) buffer. */
function copyBytes(bytes: Uint8Array, start: number, length: number): ArrayBuffer {
  const out = new Uint8Array(length);
  out.set(bytes.subarray(start, start + length));
  return out.buffer;
}

/**
 * Decodes the bytes of a `.npy` file (format 1.0, 2.0 or 3.0; NEP 1): simple dtypes float32, float64,
 * signed and unsigned integers of 1, 2, 4 and 8 bytes and bool, in either byte order, C order.
 *
 * Values are copied out of `bytes` (see {@link NpyArray.data} for the array types). Integers wider than
 * int32 are narrowed to int32 only when every value fits.
 *
 * @example
 * ```ts
 * const { data, shape, dtype } = parseNpy(new Uint8Array(await (await fetch('features.npy')).arrayBuffer()));
 * ```
 * @throws LongTailError `INVALID_DATA` for Fortran order, structured, string, object, complex and float16
 *   dtypes, integers outside int32, a wrong magic or version, and truncated files; `NON_FINITE` for NaN or
 *   ±∞ in a float array unless `allowNonFinite` (`np.isfinite(a).all()` is the Python check).
 */
export function parseNpy(bytes: Uint8Array, options: ParseNpyOptions = {}): NpyArray {
  const o = checkOptions('parseNpy options', options, PARSE_KEYS);
  const source = o.source ?? '.npy bytes';
  const allowNonFinite = checkFlag('allowNonFinite', o.allowNonFinite);
  const { descr, dtype, size, little, shape, dataStart } = parseHeader(bytes, source);
  const count = shape.reduce((a, b) => a * b, 1);
  const expectedBytes = count * size;
  if (bytes.length - dataStart !== expectedBytes) {
    throw bad(`expected ${expectedBytes} data bytes for shape (${shape.join(', ')}) of '${descr}'. Received: ${bytes.length - dataStart}`, source);
  }
  const data = decodeValues(bytes, { dtype, size, little, dataStart, count, source });
  if (!allowNonFinite && (dtype === 'float32' || dtype === 'float64')) checkFiniteValues(data, shape, '', source);
  return { dtype, descr, shape, data };
}

interface DecodeSpec {
  readonly dtype: NpyDtype;
  readonly size: number;
  readonly little: boolean;
  readonly dataStart: number;
  readonly count: number;
  readonly source: string;
}

function decodeValues(bytes: Uint8Array, spec: DecodeSpec): NpyValues {
  const { dtype, size, little, dataStart, count, source } = spec;
  if (size === 1 && dtype !== 'int8') return new Uint8Array(copyBytes(bytes, dataStart, count));
  // Same byte order as the host: the bytes are the values.
  const native = little === HOST_LITTLE_ENDIAN;
  if (native && dtype === 'float32') return new Float32Array(copyBytes(bytes, dataStart, count * 4));
  if (native && dtype === 'float64') return new Float64Array(copyBytes(bytes, dataStart, count * 8));
  if (native && dtype === 'int32') return new Int32Array(copyBytes(bytes, dataStart, count * 4));
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, count * size);
  if (dtype === 'float32' || dtype === 'float64') {
    const out = dtype === 'float32' ? new Float32Array(count) : new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = dtype === 'float32' ? view.getFloat32(4 * i, little) : view.getFloat64(8 * i, little);
    return out;
  }
  const out = new Int32Array(count);
  const tooWide = (i: number, value: bigint | number): never => {
    throw bad(`expected integers that fit int32. Received: value ${value} at flat index ${i}`, source);
  };
  for (let i = 0; i < count; i++) {
    const at = i * size;
    let v: number;
    switch (dtype) {
      case 'int8':
        v = view.getInt8(at);
        break;
      case 'int16':
        v = view.getInt16(at, little);
        break;
      case 'uint16':
        v = view.getUint16(at, little);
        break;
      case 'int32':
        v = view.getInt32(at, little);
        break;
      case 'uint32':
        v = view.getUint32(at, little);
        if (v > 0x7fffffff) tooWide(i, v);
        break;
      default: {
        // 8-byte integers as two 32-bit halves: fits int32 iff the high half is the sign extension of the low.
        const lo = view.getUint32(little ? at : at + 4, little);
        const hi = dtype === 'int64' ? view.getInt32(little ? at + 4 : at, little) : view.getUint32(little ? at + 4 : at, little);
        const fits = (hi === 0 && lo <= 0x7fffffff) || (hi === -1 && lo > 0x7fffffff);
        if (!fits) tooWide(i, dtype === 'int64' ? view.getBigInt64(at, little) : view.getBigUint64(at, little));
        v = lo | 0;
      }
    }
    out[i] = v;
  }
  return out;
}

/**
 * Reads and decodes a `.npy` file (Node only); see {@link parseNpy}. numpy: `np.load(path)`.
 *
 * @throws LongTailError `MISSING_INPUT` when the file cannot be read; `INVALID_DATA`, `NON_FINITE` as
 *   {@link parseNpy}.
 */
export async function readNpyFile(path: string, options: ReadNpyOptions = {}): Promise<NpyArray> {
  const o = checkOptions('readNpyFile options', options, READ_KEYS);
  const allowNonFinite = checkFlag('allowNonFinite', o.allowNonFinite);
  return parseNpy(await readInputFile(path, '.npy file'), { source: path, allowNonFinite });
}

/** Options of {@link labeledArraysFromNpy}. */
export interface NpyPairOptions {
  /** A name for error messages. Default `'.npy files'`. */
  readonly source?: string;
  /** Accept NaN and ±∞ features (also after rounding float64 to float32). Default false: `NON_FINITE`. */
  readonly allowNonFinite?: boolean;
}

const PAIR_KEYS: OptionKeys<NpyPairOptions> = { source: true, allowNonFinite: true };

/**
 * Pairs a features array `[N, ...sampleShape]` (e.g. `[N, D]` features, `[N, H, W, C]` images) with an
 * integer labels array `[N]` as {@link LabeledArrays} with that `sampleShape`. float32, uint8 and int32
 * values are shared, not copied; float64 is rounded to float32; bool features become 0/1 uint8.
 *
 * @throws LongTailError `INVALID_DATA` when features have rank < 2, labels are not a rank-1 integer
 *   array, or N differs; `LABEL_OUT_OF_RANGE` for a negative label; `NON_FINITE` for a feature that is
 *   not finite as float32 (NaN, ±∞, or a float64 beyond ±3.4e38) unless `allowNonFinite`.
 */
export function labeledArraysFromNpy(features: NpyArray, labels: NpyArray, options: NpyPairOptions = {}): LabeledArrays {
  const o = checkOptions('labeledArraysFromNpy options', options, PAIR_KEYS);
  const source = o.source ?? '.npy files';
  const allowNonFinite = checkFlag('allowNonFinite', o.allowNonFinite);
  if (features.shape.length < 2) {
    throw bad(`expected features of shape [N, ...sampleShape] (rank >= 2). Received: dtype=${features.dtype} shape=(${features.shape.join(', ')})`, source);
  }
  const isInteger = labels.dtype.startsWith('int') || labels.dtype.startsWith('uint');
  if (labels.shape.length !== 1 || !isInteger) {
    throw bad(`expected integer labels of shape [N]. Received: dtype=${labels.dtype} shape=(${labels.shape.join(', ')})`, source);
  }
  const n = features.shape[0] as number;
  if (labels.shape[0] !== n) throw bad(`expected one label per feature row (${n}). Received: ${labels.shape[0]} labels`, source);
  const x: SampleValues = features.data instanceof Float64Array ? Float32Array.from(features.data) : features.data;
  if (!allowNonFinite && x instanceof Float32Array) checkFiniteValues(x, features.shape, ' as float32 features', source);
  const data: LabeledArrays = { x, sampleShape: features.shape.slice(1), y: checkLabels('labels', labels.data) };
  checkLabeledArrays(data);
  return data;
}

/** Paths of {@link readNpyFeaturesLabels}. */
export interface NpyPairPaths {
  /** `[N, ...sampleShape]`, e.g. `np.save('train-features.npy', F.astype('float32'))`. */
  readonly features: string;
  /** `[N]` integers, e.g. `np.save('train-labels.npy', y)`. */
  readonly labels: string;
}

const PATH_KEYS: OptionKeys<NpyPairPaths> = { features: true, labels: true };

/**
 * Reads a features `.npy` and a labels `.npy` file into {@link LabeledArrays} (Node only); see
 * {@link labeledArraysFromNpy}.
 *
 * @example
 * ```ts
 * const train = await readNpyFeaturesLabels({ features: 'train-features.npy', labels: 'train-labels.npy' });
 * const data = fromArrays(train); // x: float32 tensor [N, D]
 * ```
 * @throws LongTailError `MISSING_INPUT`, `INVALID_DATA`, `LABEL_OUT_OF_RANGE`, `NON_FINITE` (unless
 *   `allowNonFinite`).
 */
export async function readNpyFeaturesLabels(paths: NpyPairPaths, options: ReadNpyOptions = {}): Promise<LabeledArrays> {
  checkOptions('readNpyFeaturesLabels paths', paths, PATH_KEYS);
  const o = checkOptions('readNpyFeaturesLabels options', options, READ_KEYS);
  const allowNonFinite = checkFlag('allowNonFinite', o.allowNonFinite);
  const [features, labels] = await Promise.all([readNpyFile(paths.features, { allowNonFinite }), readNpyFile(paths.labels)]);
  return labeledArraysFromNpy(features, labels, { source: `${paths.features} + ${paths.labels}`, allowNonFinite });
}

/** Options of {@link parseFeatureJson}. */
export interface FeatureJsonOptions {
  /** A name for error messages, e.g. the file path. Default `'JSON features'`. */
  readonly source?: string;
}

const JSON_KEYS: OptionKeys<FeatureJsonOptions> = { source: true };

/**
 * Parses a JSON feature file, one row per sample: `{ "features": [[...], ...], "labels": [...] }`, as
 * {@link LabeledArrays} with float32 `x` and `sampleShape` [D]. From Python:
 * `json.dump({'features': F.tolist(), 'labels': y.tolist()}, f)`.
 *
 * @throws LongTailError `INVALID_DATA` for invalid JSON, no rows, ragged rows or values that are not
 *   numbers; `NON_FINITE` for a value beyond float32 range (e.g. 1e39, finite in JSON, is ∞ as float32);
 *   `LABEL_OUT_OF_RANGE` for a label that is not an integer in [0, 2³¹).
 */
export function parseFeatureJson(text: string, options: FeatureJsonOptions = {}): LabeledArrays & { readonly x: Float32Array } {
  const o = checkOptions('parseFeatureJson options', options, JSON_KEYS);
  const source = o.source ?? 'JSON features';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw bad(`expected JSON. Received: ${e instanceof Error ? e.message : String(e)}`, source);
  }
  const { features, labels } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { features?: unknown; labels?: unknown };
  if (!Array.isArray(features) || !Array.isArray(labels) || features.length === 0) {
    throw bad('expected { "features": number[][], "labels": number[] } with at least one row', source);
  }
  if (labels.length !== features.length) throw bad(`expected one label per feature row (${features.length}). Received: ${labels.length} labels`, source);
  const first: unknown = features[0];
  const dim = Array.isArray(first) ? first.length : 0;
  if (dim === 0) throw bad('expected non-empty feature rows', source);
  const x = new Float32Array(features.length * dim);
  features.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== dim) {
      throw bad(`expected every row of length ${dim}. Received: row ${i} of length ${Array.isArray(row) ? row.length : 'none'}`, source);
    }
    row.forEach((v: unknown, j) => {
      if (typeof v !== 'number') throw bad(`expected numbers. Received: features[${i}][${j}]=${String(v)}`, source);
      x[i * dim + j] = v;
      if (!Number.isFinite(x[i * dim + j] as number)) {
        throw new LongTailError('NON_FINITE', `expected values within float32 range (±3.4e38). Received: features[${i}][${j}]=${v} (row ${i}, column ${j}; ${x[i * dim + j]} as float32) (${source})`, {
          source,
          row: i,
          column: j,
        });
      }
    });
  });
  const y = Int32Array.from(labels, (v: unknown, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new LongTailError('LABEL_OUT_OF_RANGE', `expected integer labels >= 0. Received: labels[${i}]=${String(v)} (${source})`, {
        source,
        index: i,
      });
    }
    return v;
  });
  return { x, sampleShape: [dim], y };
}

/**
 * Reads a JSON feature file (Node only); see {@link parseFeatureJson}.
 *
 * @throws LongTailError `MISSING_INPUT` when the file cannot be read; otherwise as {@link parseFeatureJson}.
 */
export async function loadFeatureJson(path: string): Promise<LabeledArrays & { readonly x: Float32Array }> {
  return parseFeatureJson(await readInputFile(path, 'JSON feature file', 'utf8'), { source: path });
}
