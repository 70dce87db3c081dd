/**
 * The .npy and JSON feature readers of examples/npy.ts, against bytes numpy itself wrote
 * (scripts/golden/examples-npy.py), and the feature files shipped for examples/latent-synthesis.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LongTailError } from '../../src/index.js';
import { featureSetFromNpy, parseFeatureJson, parseNpy } from '../../examples/npy.js';

interface GoldenCase {
  name: string;
  bytes: string;
  descr: string;
  shape: number[];
  values: number[];
}
const golden = JSON.parse(readFileSync(join(__dirname, '..', 'golden', 'examples-npy.json'), 'utf8')) as {
  cases: GoldenCase[];
  errors: Record<string, string>;
};
const bytesOf = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

function expectInvalid(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LongTailError);
    expect((e as LongTailError).code).toBe('INVALID_DATA');
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected an INVALID_DATA error. Received: none');
}

describe('parseNpy on numpy-written files', () => {
  it.each(golden.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const a = parseNpy(bytesOf(c.bytes));
    expect(a.descr).toBe(c.descr);
    expect(a.shape).toEqual(c.shape);
    expect(a.data.length).toBe(c.values.length);
    const expectedType = c.descr.endsWith('f4') ? Float32Array : c.descr.endsWith('f8') ? Float64Array : Int32Array;
    expect(a.data).toBeInstanceOf(expectedType);
    // float32 values are exact in float64, so every case compares exactly.
    expect(Array.from(a.data)).toEqual(c.values);
  });

  it('parses an unaligned view (a slice of a larger buffer)', () => {
    const c = golden.cases[0] as GoldenCase;
    const raw = bytesOf(c.bytes);
    const padded = new Uint8Array(raw.length + 3);
    padded.set(raw, 3);
    expect(Array.from(parseNpy(padded.subarray(3)).data)).toEqual(c.values);
  });

  it('rejects what it cannot read, with INVALID_DATA and a reason', () => {
    const e = golden.errors;
    expectInvalid(() => parseNpy(bytesOf(e['fortran'] as string)), /expected C order\. Received: fortran_order=True/);
    expectInvalid(() => parseNpy(bytesOf(e['structured'] as string)), /expected a simple dtype\. Received: a structured dtype/);
    expectInvalid(() => parseNpy(bytesOf(e['complex'] as string)), /expected a float, integer or bool dtype\. Received: descr='<c8'/);
    expectInvalid(() => parseNpy(bytesOf(e['float16'] as string)), /Received: descr='<f2'/);
    expectInvalid(() => parseNpy(bytesOf(e['unicode'] as string)), /Received: descr='<U2'/);
    expectInvalid(() => parseNpy(bytesOf(e['int64 too large'] as string)), /expected integers that fit int32\. Received: value 1099511627776 at flat index 1/);
    expectInvalid(() => parseNpy(new TextEncoder().encode('not a numpy file')), /expected a \.npy file starting with/);
    const ok = bytesOf((golden.cases[0] as GoldenCase).bytes);
    expectInvalid(() => parseNpy(ok.subarray(0, ok.length - 4), { source: 'cut.npy' }), /expected 48 data bytes for shape \(3, 4\) of '<f4'\. Received: 44 \(cut\.npy\)/);
    expectInvalid(() => parseNpy(ok.subarray(0, 40)), /truncated/);
    const v9 = Uint8Array.from(ok);
    v9[6] = 9;
    expectInvalid(() => parseNpy(v9), /version 1, 2 or 3\. Received: version=9\.0/);
  });
});

describe('feature sets', () => {
  it('pairs features with labels and checks them', () => {
    const feats = parseNpy(bytesOf((golden.cases[0] as GoldenCase).bytes)); // [3, 4]
    const y = parseNpy(bytesOf(golden.cases.find((c) => c.name.startsWith('int64'))?.bytes as string)); // [6]
    expectInvalid(() => featureSetFromNpy(feats, y), /expected one label per feature row \(3\)\. Received: 6 labels/);
    expectInvalid(() => featureSetFromNpy(y, y), /expected float features of shape \[N, D\]/);
    expectInvalid(() => featureSetFromNpy(feats, feats), /expected integer labels of shape \[N\]/);
    const three = { descr: '<i8', shape: [3], data: Int32Array.from([2, 0, 1]) };
    const set = featureSetFromNpy(feats, three);
    expect(set.dim).toBe(4);
    expect(Array.from(set.features)).toEqual(Array.from(feats.data));
    expect(Array.from(set.labels)).toEqual([2, 0, 1]);
  });

  it('reads the JSON format and rejects malformed files', () => {
    const set = parseFeatureJson('{"features": [[1, 2.5], [-3, 4]], "labels": [1, 0]}');
    expect(set.dim).toBe(2);
    expect(Array.from(set.features)).toEqual([1, 2.5, -3, 4]);
    expect(Array.from(set.labels)).toEqual([1, 0]);
    expectInvalid(() => parseFeatureJson('{"features": [[1, 2], [3]], "labels": [0, 1]}'), /expected every row of length 2\. Received: row 1 of length 1/);
    expectInvalid(() => parseFeatureJson('{"features": [[1, null]], "labels": [0]}'), /Received: features\[0\]\[1\]=null/);
    expectInvalid(() => parseFeatureJson('{"features": [[1]], "labels": [0.5]}'), /expected integer labels >= 0\. Received: labels\[0\]=0\.5/);
    expectInvalid(() => parseFeatureJson('{"features": [[1]], "labels": [0, 1]}'), /expected one label per feature row \(1\)\. Received: 2 labels/);
    expectInvalid(() => parseFeatureJson('{"x": 1}'), /expected \{ "features"/);
    expectInvalid(() => parseFeatureJson('{oops'), /expected JSON/);
  });

  it('reads the shipped example features with the shapes and counts meta.json records', () => {
    const dir = join(__dirname, '..', '..', 'examples', 'data', 'fmnist-lt-features');
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { files: Record<string, number[]>; trainCounts: number[] };
    for (const [file, shape] of Object.entries(meta.files)) {
      const a = parseNpy(new Uint8Array(readFileSync(join(dir, file))), { source: file });
      expect(a.shape, file).toEqual(shape);
      expect(a.descr, file).toBe(file.includes('labels') ? '<i8' : '<f4');
    }
    const y = parseNpy(new Uint8Array(readFileSync(join(dir, 'train-labels.npy')))).data;
    const counts = new Array<number>(10).fill(0);
    for (const v of y) counts[v] = (counts[v] ?? 0) + 1;
    expect(counts).toEqual(meta.trainCounts);
    const f = parseNpy(new Uint8Array(readFileSync(join(dir, 'train-features.npy')))).data;
    expect(f.every((v) => Number.isFinite(v) && v >= 0)).toBe(true); // ReLU features
  });
});
