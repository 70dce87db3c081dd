/**
 * The .npy and JSON feature readers (src/data/npy.ts) against bytes numpy itself wrote
 * (scripts/golden/npy.py → test/golden/npy.json), hand-made headers decoded with a naive reference, and
 * the feature files shipped for examples/latent-synthesis.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LongTailError, type ErrorCode } from '../../src/core/errors.js';
import {
  labeledArraysFromNpy,
  loadFeatureJson,
  parseFeatureJson,
  parseNpy,
  readNpyFeaturesLabels,
  readNpyFile,
  type NpyArray,
} from '../../src/data/npy.js';
import * as publicApi from '../../src/index.js';

interface GoldenCase {
  name: string;
  bytes: string;
  descr: string;
  dtype: string;
  shape: number[];
  values: number[];
}
const golden = JSON.parse(readFileSync(join(__dirname, '..', 'golden', 'npy.json'), 'utf8')) as {
  cases: GoldenCase[];
  errors: Record<string, string>;
};
const bytesOf = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));
const goldenCase = (name: string): GoldenCase => {
  const c = golden.cases.find((g) => g.name === name);
  if (c === undefined) throw new Error(`no golden case ${name}`);
  return c;
};
const goldenArray = (name: string): NpyArray => parseNpy(bytesOf(goldenCase(name).bytes));

function expectError(code: ErrorCode, fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LongTailError);
    expect((e as LongTailError).code).toBe(code);
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected a ${code} error. Received: none`);
}
const expectInvalid = (fn: () => unknown, message: RegExp): void => expectError('INVALID_DATA', fn, message);

async function expectRejects(code: ErrorCode, p: Promise<unknown>, message: RegExp): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LongTailError);
  expect((e as LongTailError).code).toBe(code);
  expect((e as Error).message).toMatch(message);
}

/** Which typed array each dtype decodes to (the documented contract). */
function expectedArrayType(dtype: string): unknown {
  if (dtype === 'float32') return Float32Array;
  if (dtype === 'float64') return Float64Array;
  if (dtype === 'uint8' || dtype === 'bool') return Uint8Array;
  return Int32Array;
}

/**
 * A naive .npy writer for the reference tests: version 1.0 header exactly as numpy lays it out, values
 * written one by one with DataView.
 */
function naiveNpy(descr: string, shape: number[], values: number[], header?: string): Uint8Array {
  const size = Number(descr.slice(2));
  const little = descr[0] !== '>';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let text = header ?? `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  while ((10 + text.length + 1) % 64 !== 0) text += ' ';
  text += '\n';
  const out = new Uint8Array(10 + text.length + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const view = new DataView(out.buffer);
  view.setUint16(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  values.forEach((v, i) => {
    const at = 10 + text.length + i * size;
    if (descr[1] === 'f' && size === 4) view.setFloat32(at, v, little);
    else if (descr[1] === 'f') view.setFloat64(at, v, little);
    else if (size === 1) view.setUint8(at, v);
    else if (size === 2) view.setInt16(at, v, little);
    else if (size === 4) view.setInt32(at, v, little);
    else view.setBigInt64(at, BigInt(v), little);
  });
  return out;
}

describe('parseNpy on numpy-written files', () => {
  it.each(golden.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const a = parseNpy(bytesOf(c.bytes));
    expect(a.descr).toBe(c.descr);
    expect(a.dtype).toBe(c.dtype);
    expect(a.shape).toEqual(c.shape);
    expect(a.data.length).toBe(c.values.length);
    expect(a.data).toBeInstanceOf(expectedArrayType(c.dtype));
    // float32 values are exact in float64, so every case compares exactly.
    expect(Array.from(a.data)).toEqual(c.values);
  });

  it('parses an unaligned view (a slice of a larger buffer) and copies the values out of it', () => {
    for (const name of ['float32 [3, 4]', 'float32 big-endian [2, 2]', 'int64 labels [6]', 'uint8 images [2, 2, 3]']) {
      const c = goldenCase(name);
      const raw = bytesOf(c.bytes);
      const padded = new Uint8Array(raw.length + 3);
      padded.set(raw, 3);
      const a = parseNpy(padded.subarray(3));
      expect(Array.from(a.data), name).toEqual(c.values);
      padded.fill(0);
      expect(Array.from(a.data), `${name} after the input is overwritten`).toEqual(c.values);
    }
  });

  it('agrees with a naive writer on hand-made headers (both byte orders, Python 2 shapes, "=" order)', () => {
    const values = [1.5, -2.25, 3, 1e-3, 0, -7];
    for (const descr of ['<f4', '>f4', '<f8', '>f8']) {
      const a = parseNpy(naiveNpy(descr, [2, 3], values));
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.data), descr).toEqual(values.map((v) => (descr.endsWith('4') ? Math.fround(v) : v)));
    }
    const ints = [-5, 0, 32767, -32768];
    for (const descr of ['<i2', '>i2', '<i4', '>i4', '<i8', '>i8']) {
      expect(Array.from(parseNpy(naiveNpy(descr, [4], ints)).data), descr).toEqual(ints);
    }
    const py2 = naiveNpy('<i4', [2, 2], [1, 2, 3, 4], `{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 2L), }`);
    expect(parseNpy(py2).shape).toEqual([2, 2]);
    const nativeOrder = naiveNpy('<f4', [1], [0.5], `{'descr': '=f4', 'fortran_order': False, 'shape': (1,), }`);
    expect(Array.from(parseNpy(nativeOrder).data)).toEqual([0.5]);
  });

  it('rejects what it cannot read, with INVALID_DATA and a reason', () => {
    const e = golden.errors;
    expectInvalid(() => parseNpy(bytesOf(e['fortran'] as string)), /expected C order\. Received: fortran_order=True/);
    expectInvalid(() => parseNpy(bytesOf(e['structured'] as string)), /expected a simple dtype\. Received: a structured dtype/);
    expectInvalid(() => parseNpy(bytesOf(e['complex'] as string)), /expected a float32\/float64, integer or bool dtype\. Received: descr='<c8'/);
    expectInvalid(() => parseNpy(bytesOf(e['float16'] as string)), /Received: descr='<f2'/);
    expectInvalid(() => parseNpy(bytesOf(e['unicode'] as string)), /Received: descr='<U2'/);
    expectInvalid(() => parseNpy(bytesOf(e['object'] as string)), /Received: descr='\|O'/);
    expectInvalid(() => parseNpy(bytesOf(e['int64 too large'] as string)), /expected integers that fit int32\. Received: value 1099511627776 at flat index 1/);
    expectInvalid(() => parseNpy(bytesOf(e['int64 too small'] as string)), /Received: value -2147483649 at flat index 1/);
    expectInvalid(() => parseNpy(bytesOf(e['uint32 too large'] as string)), /Received: value 2147483648 at flat index 0/);
    expectInvalid(() => parseNpy(new TextEncoder().encode('not a numpy file')), /expected a \.npy file starting with/);
    const ok = bytesOf(goldenCase('float32 [3, 4]').bytes);
    expectInvalid(() => parseNpy(ok.subarray(0, ok.length - 4), { source: 'cut.npy' }), /expected 48 data bytes for shape \(3, 4\) of '<f4'\. Received: 44 \(cut\.npy\)/);
    expectInvalid(() => parseNpy(ok.subarray(0, 40)), /truncated/);
    const v2 = bytesOf(goldenCase('format 2.0 float32 [2, 3]').bytes);
    expectInvalid(() => parseNpy(v2.subarray(0, 11)), /expected a complete \.npy header\. Received: a truncated file/);
    const v9 = Uint8Array.from(ok);
    v9[6] = 9;
    expectInvalid(() => parseNpy(v9), /version 1, 2 or 3\. Received: version=9\.0/);
    const noShape = naiveNpy('<f4', [1], [1], `{'descr': '<f4', 'fortran_order': False, }`);
    expectInvalid(() => parseNpy(noShape), /expected a 'shape' entry in the \.npy header/);
    const badShape = naiveNpy('<f4', [1], [1], `{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }`);
    expectInvalid(() => parseNpy(badShape), /expected integer dimensions\. Received: shape=\(-1,\)/);
  });
});

describe('readNpyFile and the shipped example features', () => {
  const dir = join(__dirname, '..', '..', 'examples', 'data', 'fmnist-lt-features');
  const tmp = mkdtempSync(join(tmpdir(), 'lt-npy-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads the shipped features with the shapes and counts meta.json records', async () => {
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { files: Record<string, number[]>; trainCounts: number[] };
    for (const [file, shape] of Object.entries(meta.files)) {
      const a = await readNpyFile(join(dir, file));
      expect(a.shape, file).toEqual(shape);
      expect(a.descr, file).toBe(file.includes('labels') ? '<i8' : '<f4');
    }
    const train = await readNpyFeaturesLabels({ features: join(dir, 'train-features.npy'), labels: join(dir, 'train-labels.npy') });
    expect(train.sampleShape).toEqual([meta.files['train-features.npy']?.[1]]);
    expect(train.x).toBeInstanceOf(Float32Array);
    const counts = new Array<number>(10).fill(0);
    for (const v of train.y) counts[v] = (counts[v] ?? 0) + 1;
    expect(counts).toEqual(meta.trainCounts);
    expect(train.x.every((v) => Number.isFinite(v) && v >= 0)).toBe(true); // ReLU features
  });

  it('missing files give MISSING_INPUT naming the path', async () => {
    const path = join(tmp, 'absent.npy');
    await expectRejects('MISSING_INPUT', readNpyFile(path), /expected a readable \.npy file\. Received: path=".*absent\.npy"/);
    await expectRejects('MISSING_INPUT', readNpyFeaturesLabels({ features: join(dir, 'train-features.npy'), labels: path }), /absent\.npy/);
    await expectRejects('MISSING_INPUT', loadFeatureJson(join(tmp, 'absent.json')), /expected a readable JSON feature file/);
  });

  it('corrupt files give INVALID_DATA naming the file', async () => {
    const path = join(tmp, 'cut.npy');
    const ok = bytesOf(goldenCase('float32 [3, 4]').bytes);
    writeFileSync(path, ok.subarray(0, ok.length - 1));
    await expectRejects('INVALID_DATA', readNpyFile(path), /Received: 47 \(.*cut\.npy\)$/);
  });
});

describe('labeledArraysFromNpy', () => {
  it('pairs features with labels and checks them', () => {
    const feats = goldenArray('float32 [3, 4]');
    const y = goldenArray('int64 labels [6]');
    expectInvalid(() => labeledArraysFromNpy(feats, y), /expected one label per feature row \(3\)\. Received: 6 labels \(\.npy files\)/);
    expectInvalid(() => labeledArraysFromNpy(y, y), /expected features of shape \[N, \.\.\.sampleShape\] \(rank >= 2\)\. Received: dtype=int64 shape=\(6\)/);
    expectInvalid(() => labeledArraysFromNpy(feats, feats), /expected integer labels of shape \[N\]\. Received: dtype=float32 shape=\(3, 4\)/);
    const bools = goldenArray('bool [4]');
    expectInvalid(() => labeledArraysFromNpy(feats, bools, { source: 'a + b' }), /Received: dtype=bool shape=\(4\) \(a \+ b\)/);
    const three: NpyArray = { dtype: 'int64', descr: '<i8', shape: [3], data: Int32Array.from([2, 0, 1]) };
    const set = labeledArraysFromNpy(feats, three);
    expect(set.sampleShape).toEqual([4]);
    expect(set.x).toBe(feats.data); // float32 is shared
    expect(Array.from(set.y)).toEqual([2, 0, 1]);
    const negative: NpyArray = { ...three, data: Int32Array.from([2, -1, 1]) };
    expectError('LABEL_OUT_OF_RANGE', () => labeledArraysFromNpy(feats, negative), /expected labels >= 0\. Received: labels\[1\]=-1/);
    const zeroWidth: NpyArray = { dtype: 'float32', descr: '<f4', shape: [3, 0], data: new Float32Array(0) };
    expectError('SHAPE_MISMATCH', () => labeledArraysFromNpy(zeroWidth, three), /sampleShape of positive integers/);
  });

  it('keeps image shapes and dtypes: uint8 images stay uint8, float64 becomes float32, uint8 labels become int32', () => {
    const images = goldenArray('uint8 images [2, 2, 3]'); // [N=2, 2, 3]
    const labels = goldenArray('uint16 big-endian [3]');
    const two: NpyArray = { ...labels, shape: [2], data: labels.data.subarray(0, 2) };
    const set = labeledArraysFromNpy(images, two);
    expect(set.sampleShape).toEqual([2, 3]);
    expect(set.x).toBeInstanceOf(Uint8Array);
    expect(Array.from(set.x)).toEqual(goldenCase('uint8 images [2, 2, 3]').values);
    const f64 = goldenArray('float64 big-endian [2, 3]');
    const fromF64 = labeledArraysFromNpy(f64, { dtype: 'uint8', descr: '|u1', shape: [2], data: Uint8Array.from([1, 0]) });
    expect(fromF64.x).toBeInstanceOf(Float32Array);
    expect(Array.from(fromF64.x)).toEqual(goldenCase('float64 big-endian [2, 3]').values.map(Math.fround));
    expect(fromF64.y).toBeInstanceOf(Int32Array);
    expect(Array.from(fromF64.y)).toEqual([1, 0]);
    const f3d = goldenArray('float32 [2, 3, 4]');
    expect(labeledArraysFromNpy(f3d, two).sampleShape).toEqual([3, 4]);
  });
});

describe('JSON feature files', () => {
  it('reads the JSON format and rejects malformed files', () => {
    const set = parseFeatureJson('{"features": [[1, 2.5], [-3, 4]], "labels": [1, 0]}');
    expect(set.sampleShape).toEqual([2]);
    expect(Array.from(set.x)).toEqual([1, 2.5, -3, 4]);
    expect(Array.from(set.y)).toEqual([1, 0]);
    expectInvalid(() => parseFeatureJson('{"features": [[1, 2], [3]], "labels": [0, 1]}'), /expected every row of length 2\. Received: row 1 of length 1/);
    expectInvalid(() => parseFeatureJson('{"features": [[1, null]], "labels": [0]}'), /Received: features\[0\]\[1\]=null/);
    expectError('LABEL_OUT_OF_RANGE', () => parseFeatureJson('{"features": [[1]], "labels": [0.5]}'), /expected integer labels >= 0\. Received: labels\[0\]=0\.5/);
    expectError('LABEL_OUT_OF_RANGE', () => parseFeatureJson('{"features": [[1]], "labels": [-1]}', { source: 'f.json' }), /Received: labels\[0\]=-1 \(f\.json\)/);
    expectInvalid(() => parseFeatureJson('{"features": [[1]], "labels": [0, 1]}'), /expected one label per feature row \(1\)\. Received: 2 labels/);
    expectInvalid(() => parseFeatureJson('{"x": 1}'), /expected \{ "features"/);
    expectInvalid(() => parseFeatureJson('null'), /expected \{ "features"/);
    expectInvalid(() => parseFeatureJson('{"features": [[]], "labels": [0]}'), /expected non-empty feature rows/);
    expectInvalid(() => parseFeatureJson('{oops'), /expected JSON/);
  });

  it('a JSON file and the .npy files of the same features load to the same arrays', async () => {
    const dir = join(__dirname, '..', '..', 'examples', 'data', 'fmnist-lt-features');
    const npy = await readNpyFeaturesLabels({ features: join(dir, 'test-features.npy'), labels: join(dir, 'test-labels.npy') });
    const d = npy.sampleShape[0] as number;
    const rows = Array.from({ length: npy.y.length }, (_, i) => Array.from(npy.x.subarray(i * d, (i + 1) * d)));
    const tmp = mkdtempSync(join(tmpdir(), 'lt-json-'));
    try {
      const path = join(tmp, 'test.json');
      writeFileSync(path, JSON.stringify({ features: rows, labels: Array.from(npy.y) }));
      const json = await loadFeatureJson(path);
      expect(json.sampleShape).toEqual(npy.sampleShape);
      expect(json.x).toEqual(npy.x);
      expect(json.y).toEqual(npy.y);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

it('is exported from the package entry point', () => {
  for (const name of ['parseNpy', 'readNpyFile', 'labeledArraysFromNpy', 'readNpyFeaturesLabels', 'parseFeatureJson', 'loadFeatureJson']) {
    expect(typeof (publicApi as Record<string, unknown>)[name], name).toBe('function');
  }
});

describe('non-finite values and unknown options', () => {
  const labels2: NpyArray = { dtype: 'int64', descr: '<i8', shape: [2], data: Int32Array.from([0, 1]) };

  it('.npy float arrays with NaN or ±∞ are NON_FINITE (naming the position) unless allowNonFinite', () => {
    for (const descr of ['<f4', '>f4', '<f8', '>f8']) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const bytes = naiveNpy(descr, [2, 3], [0, 1, 2, 3, bad, 5]);
        expectError('NON_FINITE', () => parseNpy(bytes, { source: 'f.npy' }), new RegExp(`^expected finite values\\. Received: ${bad} at \\[1, 1\\] \\(f\\.npy; allowNonFinite: true accepts it\\)$`));
        const a = parseNpy(bytes, { allowNonFinite: true });
        expect(Array.from(a.data)[4], descr).toBe(bad);
      }
    }
    // Integers can never be non-finite, and stay accepted.
    expect(Array.from(parseNpy(naiveNpy('<i4', [2], [1, 2])).data)).toEqual([1, 2]);
  });

  it('float64 features beyond float32 range become ∞ when narrowed: NON_FINITE in labeledArraysFromNpy', () => {
    const f64: NpyArray = { dtype: 'float64', descr: '<f8', shape: [2, 2], data: Float64Array.from([1, 2, 3, 1e39]) };
    expectError('NON_FINITE', () => labeledArraysFromNpy(f64, labels2), /^expected finite values as float32 features\. Received: Infinity at \[1, 1\] \(\.npy files;/);
    expect(labeledArraysFromNpy(f64, labels2, { allowNonFinite: true }).x[3]).toBe(Infinity);
    const f32: NpyArray = { dtype: 'float32', descr: '<f4', shape: [2, 1], data: Float32Array.from([NaN, 0]) };
    expectError('NON_FINITE', () => labeledArraysFromNpy(f32, labels2), /Received: NaN at \[0, 0\]/);
  });

  it('readNpyFile and readNpyFeaturesLabels pass allowNonFinite through', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lt-npy-nf-'));
    try {
      const features = join(tmp, 'f.npy');
      const labels = join(tmp, 'y.npy');
      writeFileSync(features, naiveNpy('<f4', [2, 2], [1, NaN, 3, 4]));
      writeFileSync(labels, naiveNpy('<i8', [2], [0, 1]));
      await expectRejects('NON_FINITE', readNpyFile(features), /at \[0, 1\] \(.*f\.npy;/);
      await expectRejects('NON_FINITE', readNpyFeaturesLabels({ features, labels }), /at \[0, 1\]/);
      expect(Number.isNaN((await readNpyFile(features, { allowNonFinite: true })).data[1])).toBe(true);
      expect(Number.isNaN((await readNpyFeaturesLabels({ features, labels }, { allowNonFinite: true })).x[1])).toBe(true);
      await expectRejects('UNKNOWN_OPTION', readNpyFile(features, { allowNaN: true } as never), /readNpyFile options/);
      await expectRejects('UNKNOWN_OPTION', readNpyFeaturesLabels({ features, labels, extra: '' } as never), /readNpyFeaturesLabels paths .*Received: extra/);
      await expectRejects('INVALID_OPTION', readNpyFile(features, { allowNonFinite: 'yes' as never }), /expected allowNonFinite to be true or false/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('JSON values that overflow float32 are NON_FINITE naming row and column', () => {
    expectError('NON_FINITE', () => parseFeatureJson('{"features": [[1, 2], [3, 1e39]], "labels": [0, 1]}', { source: 'f.json' }), /^expected values within float32 range \(±3\.4e38\)\. Received: features\[1\]\[1\]=1e\+39 \(row 1, column 1; Infinity as float32\) \(f\.json\)$/);
    expectError('NON_FINITE', () => parseFeatureJson('{"features": [[-1e300]], "labels": [0]}'), /row 0, column 0; -Infinity as float32/);
    expect(parseFeatureJson('{"features": [[3.4e38, 1e-50]], "labels": [0]}').x[0]).toBe(Math.fround(3.4e38));
  });

  it('every options object rejects unknown keys', () => {
    const ok = naiveNpy('<f4', [1], [1]);
    expectError('UNKNOWN_OPTION', () => parseNpy(ok, { sorce: 'x' } as never), /parseNpy options .*Received: sorce \(did you mean source\?\)/);
    expectError('UNKNOWN_OPTION', () => labeledArraysFromNpy(goldenArray('float32 [3, 4]'), labels2, { allow: true } as never), /labeledArraysFromNpy options/);
    expectError('UNKNOWN_OPTION', () => parseFeatureJson('{}', { path: 'x' } as never), /parseFeatureJson options/);
  });
});
