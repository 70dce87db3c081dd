import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { toConfig } from '../../src/core/registry.js';
import { seededRng } from '../../src/core/rng.js';
import { ClassGaussian, type ClassGaussianOptions } from '../../src/synth/gaussian.js';
import { cholesky, choleskyWithRepair, fillStandardNormal } from '../../src/synth/linalg.js';
import { synthRegistry } from '../../src/synth/registry.js';
import { topUpRequest } from '../../src/synth/top-up.js';
import { backendsUnderTest, expectClose, expectNoLeak } from '../../src/testing/index.js';

interface GoldenClass {
  count: number;
  mean: number[];
  full?: number[];
  ledoitWolfShrinkage?: number;
  ledoitWolf?: number[];
  shrunk03?: number[];
}
interface Calibrated {
  mean: number[];
  covariance: number[];
  donors: number[];
}
interface GoldenCase {
  name: string;
  dim: number;
  numClasses: number;
  features: number[];
  labels: number[];
  classes: GoldenClass[];
  pooled: number[];
  calibrated: { headMinCount: number; k2_all: Record<string, Calibrated>; k1_diag_nomean: Record<string, Calibrated> };
}
const golden = JSON.parse(readFileSync(new URL('../golden/synth_gaussian.json', import.meta.url), 'utf8')) as { cases: GoldenCase[] };

function batchOf(g: GoldenCase, from = 0, to = g.labels.length) {
  return {
    features: tf.tensor2d(g.features.slice(from * g.dim, to * g.dim), [to - from, g.dim]),
    labels: tf.tensor1d(g.labels.slice(from, to), 'int32'),
  };
}

function fitted(g: GoldenCase, options: Omit<ClassGaussianOptions, 'numClasses'>): ClassGaussian {
  const s = new ClassGaussian({ numClasses: g.numClasses, ...options });
  const b = batchOf(g);
  s.observe(b);
  tf.dispose([b.features, b.labels]);
  return s;
}

/** Naive two-pass unbiased covariance of one class, plain JS. */
function naiveCovariance(g: GoldenCase, c: number): number[] {
  const rows: number[][] = [];
  g.labels.forEach((y, i) => {
    if (y === c) rows.push(g.features.slice(i * g.dim, (i + 1) * g.dim));
  });
  const mean = Array.from({ length: g.dim }, (_, k) => rows.reduce((s, r) => s + (r[k] as number), 0) / rows.length);
  const out: number[] = [];
  for (let i = 0; i < g.dim; i++) {
    for (let j = 0; j < g.dim; j++) {
      out.push(rows.reduce((s, r) => s + ((r[i] as number) - (mean[i] as number)) * ((r[j] as number) - (mean[j] as number)), 0) / (rows.length - 1));
    }
  }
  return out;
}

describe('ClassGaussian estimators match NumPy / scikit-learn (golden) and a naive loop', () => {
  for (const g of golden.cases) {
    it(`${g.name}: full, ledoitWolf (ρ and Σ), shrinkage ρ = 0.3, pooled`, () => {
      const full = fitted(g, { covariance: 'full' });
      const lw = fitted(g, { covariance: 'ledoitWolf' });
      const sh = fitted(g, { covariance: 'shrinkage', shrinkage: 0.3 });
      const pooled = fitted(g, { covariance: 'pooled' });
      const diag = fitted(g, { covariance: 'diagonal' });
      g.classes.forEach((gc, c) => {
        if (gc.full === undefined) return;
        expectClose(full.distribution(c).mean, gc.mean, { rtol: 1e-9, atol: 1e-9 });
        expectClose(full.distribution(c).covariance, gc.full, { rtol: 1e-9, atol: 1e-9 });
        expectClose(full.distribution(c).covariance, naiveCovariance(g, c), { rtol: 1e-9, atol: 1e-9 });
        expectClose(diag.distribution(c).covariance, gc.full.filter((_, k) => k % (g.dim + 1) === 0), { rtol: 1e-9, atol: 1e-9 });
        expectClose(lw.distribution(c).shrinkage, gc.ledoitWolfShrinkage as number, { rtol: 1e-8, atol: 0 });
        expectClose(lw.distribution(c).covariance, gc.ledoitWolf as number[], { rtol: 1e-8, atol: 1e-9 });
        expectClose(sh.distribution(c).covariance, gc.shrunk03 as number[], { rtol: 1e-9, atol: 1e-9 });
        expectClose(pooled.distribution(c).covariance, g.pooled, { rtol: 1e-9, atol: 1e-9 });
      });
      [full, lw, sh, pooled, diag].forEach((s) => s.dispose());
    });

    it(`${g.name}: calibrated (Distribution Calibration) tail classes`, () => {
      const a = fitted(g, { covariance: 'calibrated', headMinCount: g.calibrated.headMinCount });
      const b = fitted(g, {
        covariance: 'calibrated',
        headMinCount: g.calibrated.headMinCount,
        calibrationK: 1,
        calibrationAlpha: 0.5,
        calibrationAlphaOn: 'diagonal',
        calibrateMean: false,
      });
      for (const [s, expected] of [
        [a, g.calibrated.k2_all],
        [b, g.calibrated.k1_diag_nomean],
      ] as const) {
        for (const [c, e] of Object.entries(expected)) {
          const f = s.distribution(Number(c));
          expect([...f.donors]).toEqual(e.donors);
          expectClose(f.mean, e.mean, { rtol: 1e-9, atol: 1e-9 });
          expectClose(f.covariance, e.covariance, { rtol: 1e-9, atol: 1e-9 });
        }
      }
      // Head classes keep their own unbiased covariance.
      const head = g.classes.findIndex((gc) => gc.count >= g.calibrated.headMinCount);
      expectClose(a.distribution(head).covariance, g.classes[head]?.full as number[], { rtol: 1e-9, atol: 1e-9 });
      a.dispose();
      b.dispose();
    });
  }
});

describe('ClassGaussian streaming moments', () => {
  it('two halves merged (and batches streamed) equal one fit on all data to 1e-6', () => {
    for (const g of golden.cases) {
      const all = fitted(g, { covariance: 'ledoitWolf' });
      const half = Math.floor(g.labels.length / 2);
      const left = new ClassGaussian({ numClasses: g.numClasses, covariance: 'ledoitWolf' });
      const right = new ClassGaussian({ numClasses: g.numClasses, covariance: 'ledoitWolf' });
      const streamed = new ClassGaussian({ numClasses: g.numClasses, covariance: 'ledoitWolf' });
      const bl = batchOf(g, 0, half);
      const br = batchOf(g, half);
      left.observe(bl);
      right.observe(br);
      for (let s = 0; s < g.labels.length; s += 7) {
        const b = batchOf(g, s, Math.min(s + 7, g.labels.length));
        streamed.observe(b);
        tf.dispose([b.features, b.labels]);
      }
      tf.dispose([bl.features, bl.labels, br.features, br.labels]);
      left.merge(right);
      for (const s of [left, streamed]) {
        expect(Array.from(s.observedCounts())).toEqual(Array.from(all.observedCounts()));
        g.classes.forEach((gc, c) => {
          if (gc.count < 2) return;
          const x = s.distribution(c);
          const y = all.distribution(c);
          expectClose(x.mean, y.mean, { rtol: 1e-6, atol: 1e-9 });
          expectClose(x.covariance, y.covariance, { rtol: 1e-6, atol: 1e-9 });
          // The fourth-order term merges too: the Ledoit–Wolf ρ agrees.
          expectClose(x.shrinkage, y.shrinkage, { rtol: 1e-6, atol: 1e-12 });
        });
      }
      [all, left, right, streamed].forEach((s) => s.dispose());
    }
  });
});

/** Φ(x) from erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, far below the KS bounds used). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

describe('standard normals (ziggurat on a seeded xoshiro128** stream)', () => {
  it('400k draws: KS distance to Φ, mean, variance, kurtosis and the tail beyond R match N(0, 1)', () => {
    const N = 400_000;
    const z = new Float64Array(N);
    const rng = seededRng(77);
    fillStandardNormal(() => rng.next(), z);
    let m = 0;
    let v = 0;
    let k = 0;
    let tail = 0;
    let beyond2 = 0;
    for (const x of z) {
      m += x;
      v += x * x;
      k += x ** 4;
      if (Math.abs(x) > 3.442619855899) tail++;
      if (Math.abs(x) > 2) beyond2++;
    }
    expect(Math.abs(m / N)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(v / N - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    expect(Math.abs(k / N - 3)).toBeLessThan(5 * Math.sqrt(96 / N));
    // Counts in the tail (the slow path) and beyond 2 (wedges of the upper layers): binomial, 5 SE.
    for (const [count, x] of [[tail, 3.442619855899], [beyond2, 2]] as const) {
      const p = 2 * (1 - normalCdf(x));
      expect(Math.abs(count - N * p)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)));
    }
    const sorted = Float64Array.from(z).sort();
    let ks = 0;
    for (let i = 0; i < N; i++) {
      const c = normalCdf(sorted[i] as number);
      ks = Math.max(ks, Math.abs(c - i / N), Math.abs(c - (i + 1) / N));
    }
    // 1.95/√N is the 0.1% critical value of the Kolmogorov distribution.
    expect(ks).toBeLessThan(1.95 / Math.sqrt(N));
  });

  it('2M draws: chi-square of |z| over 0.2-wide bins to 4.4 (wedges and the tail beyond R ≈ 3.44 included)', () => {
    const N = 2_000_000;
    const z = new Float32Array(N);
    const rng = seededRng(78);
    fillStandardNormal(() => rng.next(), z);
    const width = 0.2;
    const bins = 23; // [0, 0.2), ..., [4.2, 4.4), [4.4, ∞)
    const counts = new Array<number>(bins).fill(0);
    for (const x of z) {
      const b = Math.min(bins - 1, Math.floor(Math.abs(x) / width));
      counts[b] = (counts[b] as number) + 1;
    }
    let chi2 = 0;
    for (let b = 0; b < bins; b++) {
      const lo = b * width;
      const hi = b === bins - 1 ? Infinity : (b + 1) * width;
      const p = 2 * ((hi === Infinity ? 1 : normalCdf(hi)) - normalCdf(lo));
      chi2 += ((counts[b] as number) - N * p) ** 2 / (N * p);
    }
    // 49.7 is the 0.1% critical value of χ² with 22 degrees of freedom.
    expect(chi2).toBeLessThan(49.7);
  });

  it('is a pure function of the stream and consumes exactly four uniforms of it', () => {
    const a = new Float32Array(1000);
    const b = new Float32Array(1000);
    const ra = seededRng('z');
    const rb = seededRng('z');
    fillStandardNormal(() => ra.next(), a);
    fillStandardNormal(() => rb.next(), b);
    expect(Array.from(a)).toEqual(Array.from(b));
    const reference = seededRng('z');
    for (let i = 0; i < 4; i++) reference.next();
    expect(ra.next()).toBe(reference.next());
    const other = new Float32Array(1000);
    const rc = seededRng('y');
    fillStandardNormal(() => rc.next(), other);
    expect(Array.from(other)).not.toEqual(Array.from(a));
  });
});

describe('Cholesky and PSD repair', () => {
  // d = 7 runs the JS loop, d = 45 the strided SIMD kernel (d ≥ 32; 45 is not a multiple of its 8-wide blocks).
  it.each([7, 45])('cholesky reproduces A = L·Lᵀ and rejects a non-PD matrix (d = %i)', (d) => {
    const rng = seededRng(3);
    const b = Array.from({ length: d * d }, () => rng.normal());
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) a[i * d + j] = (a[i * d + j] as number) + (b[i * d + k] as number) * (b[j * d + k] as number);
    for (let i = 0; i < d; i++) a[i * d + i] = (a[i * d + i] as number) + 0.1;
    const l = cholesky(a, d) as Float64Array;
    const back = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) back[i * d + j] = (back[i * d + j] as number) + (l[i * d + k] as number) * (l[j * d + k] as number);
    expectClose(back, a, { rtol: 1e-10, atol: 1e-10 });
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) expect(l[i * d + j]).toBe(0);
    expect(cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toBeNull();
    // Indefinite: A − (λ_max-ish)·I fails at some pivot.
    const bad = Float64Array.from(a);
    for (let i = 0; i < d; i++) bad[i * d + i] = (bad[i * d + i] as number) - 4 * d;
    expect(cholesky(bad, d)).toBeNull();
  });

  it('repairs a rank-deficient covariance by jitter and by eigenvalue floor', () => {
    // Rank 1: v·vᵀ with v = [1, 2, 3].
    const v = [1, 2, 3];
    const a = Float64Array.from({ length: 9 }, (_, k) => (v[Math.floor(k / 3)] as number) * (v[k % 3] as number));
    const jit = choleskyWithRepair(a, 3);
    expect(jit.jitter).toBeGreaterThan(0);
    expect(jit.jitter).toBeLessThan(1e-3);
    const floor = choleskyWithRepair(a, 3, { method: 'eigenFloor', eigenFloor: 1e-4 });
    for (const l of [jit.factor, floor.factor]) {
      const back = Float64Array.from({ length: 9 }, (_, k) => {
        const i = Math.floor(k / 3);
        const j = k % 3;
        let s = 0;
        for (let q = 0; q < 3; q++) s += (l[i * 3 + q] as number) * (l[j * 3 + q] as number);
        return s;
      });
      expectClose(back, a, { rtol: 1e-3, atol: 2e-3 });
    }
    expect(() => choleskyWithRepair(Float64Array.from([1, Number.NaN, Number.NaN, 1]), 2)).toThrow(expect.objectContaining({ code: 'NON_FINITE' }));
  });

  it('a class with n < d samples fits and samples under every estimator', () => {
    const g = golden.cases[1] as GoldenCase;
    for (const covariance of ['full', 'diagonal', 'shrinkage', 'ledoitWolf', 'pooled', 'calibrated'] as const) {
      const s = fitted(g, { covariance, psdRepair: covariance === 'full' ? 'eigenFloor' : 'jitter' });
      const out = s.sample({ perClass: [0, 5, 0] }, seededRng(1));
      expect(out.features.shape).toEqual([5, g.dim]);
      for (const v of out.features.dataSync()) expect(Number.isFinite(v)).toBe(true);
      tf.dispose([out.features, out.labels]);
      s.dispose();
    }
  });
});

for (const backend of backendsUnderTest()) {
  describe(`ClassGaussian sampling on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('100k draws: sample mean and covariance match the fitted ones within 5 standard errors', () => {
      const g = golden.cases[0] as GoldenCase;
      const s = fitted(g, { covariance: 'full' });
      const c = 1;
      const N = 100_000;
      const d = g.dim;
      const out = s.sample({ perClass: [0, N, 0, 0] }, seededRng(2024));
      const x = out.features.dataSync();
      expect(Array.from(new Set(out.labels.dataSync()))).toEqual([c]);
      const f = s.distribution(c);
      const mean = new Float64Array(d);
      for (let r = 0; r < N; r++) for (let i = 0; i < d; i++) mean[i] = (mean[i] as number) + (x[r * d + i] as number) / N;
      const cov = new Float64Array(d * d);
      for (let r = 0; r < N; r++) {
        for (let i = 0; i < d; i++) {
          const xi = (x[r * d + i] as number) - (mean[i] as number);
          for (let j = 0; j < d; j++) cov[i * d + j] = (cov[i * d + j] as number) + (xi * ((x[r * d + j] as number) - (mean[j] as number))) / (N - 1);
        }
      }
      const S = f.covariance;
      for (let i = 0; i < d; i++) {
        // SE of a mean: √(Σ_ii / N); of a covariance entry: √((Σ_ii Σ_jj + Σ_ij²) / N).
        expect(Math.abs((mean[i] as number) - (f.mean[i] as number))).toBeLessThan(5 * Math.sqrt((S[i * d + i] as number) / N));
        for (let j = 0; j < d; j++) {
          const se = Math.sqrt(((S[i * d + i] as number) * (S[j * d + j] as number) + (S[i * d + j] as number) ** 2) / N);
          expect(Math.abs((cov[i * d + j] as number) - (S[i * d + j] as number))).toBeLessThan(5 * se);
        }
      }
      tf.dispose([out.features, out.labels]);
      s.dispose();
    });

    it('tensor and typed-array products agree; same seed gives identical numbers; no leaks', async () => {
      const g = golden.cases[0] as GoldenCase;
      const typed = fitted(g, { covariance: 'ledoitWolf', product: 'typed' });
      const tensor = fitted(g, { covariance: 'ledoitWolf', product: 'tensor' });
      const req = { perClass: [3, 0, 50, 7] };
      const a = typed.sample(req, seededRng(9));
      const b = tensor.sample(req, seededRng(9));
      expectClose(b.features, a.features, { rtol: 1e-4, atol: 1e-4 });
      expect(Array.from(a.labels.dataSync())).toEqual([...new Array(3).fill(0), ...new Array(50).fill(2), ...new Array(7).fill(3)]);
      expect(Array.from(b.labels.dataSync())).toEqual(Array.from(a.labels.dataSync()));
      const again = tensor.sample(req, seededRng(9));
      expect(Array.from(again.features.dataSync())).toEqual(Array.from(b.features.dataSync()));
      const other = tensor.sample(req, seededRng(10));
      expect(Array.from(other.features.dataSync())).not.toEqual(Array.from(b.features.dataSync()));
      tf.dispose([a.features, a.labels, b.features, b.labels, again.features, again.labels, other.features, other.labels]);
      for (const s of [typed, tensor]) await expectNoLeak(() => s.sample(req, seededRng(1)));
      await expectNoLeak(() => {
        const s = fitted(g, { covariance: 'diagonal' });
        const o = s.sample({ perClass: [1, 1, 1, 1] }, seededRng(1));
        s.dispose();
        return o;
      });
      typed.dispose();
      tensor.dispose();
    });
  });
}

describe('ClassGaussian errors, lifecycle, config', () => {
  const g = golden.cases[0] as GoldenCase;

  it('bad input gives LongTailError with stable codes and messages, before any tensor', async () => {
    const s = fitted(g, { covariance: 'full' });
    const wrongDim = { features: tf.zeros([2, g.dim + 1]) as tf.Tensor2D, labels: tf.tensor1d([0, 1], 'int32') };
    expect(() => s.observe(wrongDim)).toThrow(`expected feature dimension = ${g.dim}. Received: features.shape[1]=${g.dim + 1}`);
    const nan = { features: tf.tensor2d([[Number.NaN, 0, 0, 0, 0, 0]]), labels: tf.tensor1d([0], 'int32') };
    expect(() => s.observe(nan)).toThrow(expect.objectContaining({ code: 'NON_FINITE' }));
    const badLabel = { features: tf.zeros([1, g.dim]) as tf.Tensor2D, labels: tf.tensor1d([9], 'int32') };
    expect(() => s.observe(badLabel)).toThrow(expect.objectContaining({ code: 'LABEL_OUT_OF_RANGE' }));
    const rank = { features: tf.zeros([2]) as unknown as tf.Tensor2D, labels: tf.tensor1d([0, 1], 'int32') };
    expect(() => s.observe(rank)).toThrow('expected features of rank 2. Received: features.shape=[2]');
    // Class 3 has 3 samples in the golden data; a fresh one-sample class: EMPTY_CLASS for 'full'.
    const one = new ClassGaussian({ numClasses: 2, covariance: 'full' });
    const ob = { features: tf.tensor2d([[1, 2], [3, 4], [5, 7]]), labels: tf.tensor1d([0, 0, 1], 'int32') };
    one.observe(ob);
    expect(() => one.sample({ perClass: [0, 1] }, seededRng(0))).toThrow(
      'expected class 1 to have at least 2 observed samples for a full covariance. Received: count=1',
    );
    const before = tf.memory().numTensors;
    expect(() => s.sample({ perClass: [1, 2] }, seededRng(0))).toThrow('expected perClass.length = numClasses = 4. Received: perClass.length=2');
    expect(() => s.sample({ perClass: [1, -2, 0, 0] }, seededRng(0))).toThrow('expected perClass[1] >= 0. Received: perClass[1]=-2');
    expect(tf.memory().numTensors).toBe(before);
    const empty = new ClassGaussian({ numClasses: 3, covariance: 'pooled' });
    expect(() => empty.sample({ perClass: [1, 0, 0] }, seededRng(0))).toThrow(expect.objectContaining({ code: 'NOT_FITTED' }));
    empty.observe(ob);
    expect(() => empty.sample({ perClass: [0, 0, 1] }, seededRng(0))).toThrow(expect.objectContaining({ code: 'EMPTY_CLASS' }));
    expect(() => new ClassGaussian({ numClasses: 2, covariance: 'robust' as 'full' })).toThrow(/expected covariance to be one of "full", "diagonal"/);
    expect(() => new ClassGaussian({ numClasses: 2, shrinkage: 1.5 })).toThrow('expected shrinkage in [0, 1]. Received: shrinkage=1.5');
    expect(() => new ClassGaussian({ numClasses: 0 })).toThrow('expected numClasses >= 1. Received: numClasses=0');
    const other = new ClassGaussian({ numClasses: 5 });
    expect(() => s.merge(other)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    tf.dispose([wrongDim.features, wrongDim.labels, nan.features, nan.labels, badLabel.features, badLabel.labels, rank.labels, ob.features, ob.labels]);
    s.dispose();
    s.dispose();
    expect(() => s.sample({ perClass: [1, 0, 0, 0] }, seededRng(0))).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => s.observedCounts()).toThrow('expected a live ClassGaussian. Received: a ClassGaussian after dispose()');
    one.dispose();
    empty.dispose();
    other.dispose();
  });

  it('config round-trips through synthRegistry', () => {
    const s = new ClassGaussian({ numClasses: 4, covariance: 'calibrated', calibrationK: 3, psdRepair: 'eigenFloor' });
    const back = synthRegistry.fromConfig(toConfig(s));
    expect(back).toBeInstanceOf(ClassGaussian);
    expect(toConfig(back)).toEqual(toConfig(s));
    expect(() => synthRegistry.fromConfig({ kind: 'vae', config: {} })).toThrow(expect.objectContaining({ code: 'UNKNOWN_KIND' }));
    s.dispose();
    back.dispose();
  });

  it('topUpRequest: to n_max, to a count, by a ratio; unobserved classes get 0', () => {
    expect(Array.from(topUpRequest([100, 10, 0, 40]))).toEqual([0, 90, 0, 60]);
    expect(Array.from(topUpRequest([100, 10, 0, 40], { kind: 'toCount', count: 50 }))).toEqual([0, 40, 0, 10]);
    expect(Array.from(topUpRequest([100, 10, 0, 40], { kind: 'ratio', ratio: 0.5 }))).toEqual([50, 5, 0, 20]);
    expect(() => topUpRequest([1, 2], { kind: 'ratio', ratio: -1 })).toThrow('expected ratio >= 0. Received: ratio=-1');
    expect(() => topUpRequest([1, 2], { kind: 'double' } as never)).toThrow(/expected policy.kind to be one of/);
  });
});
