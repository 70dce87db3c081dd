/**
 * GGEUR options of ClassGaussian (Dai et al., CVPR 2025): the eigenvalue-clip + scale + jitter repair
 * against NumPy (scripts/golden/ggeur.py), the anchor rule, and draws anchored on real samples.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { toConfig } from '../../src/core/registry.js';
import { seededRng } from '../../src/core/rng.js';
import { anchorIndices, ClassGaussian, type ClassGaussianOptions } from '../../src/synth/gaussian.js';
import { cholesky, choleskyWithRepair, eigenClip } from '../../src/synth/linalg.js';
import { synthRegistry } from '../../src/synth/registry.js';
import { expectNoLeak } from '../../src/testing/index.js';
import { thrown } from '../helpers/errors.js';

interface RepairCase {
  name: string;
  d: number;
  covariance: number[];
  eigenScale: number;
  jitterStart: number;
  repaired: number[];
  jitter: number;
}
const golden = JSON.parse(readFileSync(new URL('../golden/ggeur.json', import.meta.url), 'utf8')) as {
  repair: RepairCase[];
  anchors: { needed: number; count: number; anchors: number[] }[];
};

/** L·Lᵀ of a row-major lower-triangular factor, naive loop. */
function llt(l: Float64Array, d: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (l[i * d + k] as number) * (l[j * d + k] as number);
      out.push(s);
    }
  }
  return out;
}

describe("psdRepair 'eigenClip' matches GGEUR's nearest_pos_def + jitter loop (NumPy golden)", () => {
  for (const g of golden.repair) {
    it(g.name, () => {
      const { factor, jitter } = choleskyWithRepair(Float64Array.from(g.covariance), g.d, { method: 'eigenClip', eigenScale: g.eigenScale, jitterStart: g.jitterStart });
      expect(jitter).toBe(g.jitter);
      const got = llt(factor, g.d);
      const scale = Math.max(...g.repaired.map(Math.abs));
      got.forEach((v, i) => expect(Math.abs(v - (g.repaired[i] as number))).toBeLessThanOrEqual(1e-6 * scale));
    });
  }

  it('always adds the jitter (a positive definite matrix gets δ₀ too), and grows it ×10 from δ₀ only as far as needed', () => {
    const pd = Float64Array.from([2, 0.5, 0.5, 1]);
    const plain = choleskyWithRepair(pd, 2, { method: 'eigenClip' });
    expect(plain.jitter).toBe(1e-6);
    expect(llt(plain.factor, 2)[0]).toBeCloseTo(2 + 1e-6, 12);
    // Rank one with entries ~1e8: rounding noise (~1e-8) is far above δ₀ = 1e-30, so δ must grow.
    const v = [1.3e4, -0.7e4, 0.2e4, 1.1e4];
    const a = Float64Array.from({ length: 16 }, (_, q) => (v[Math.floor(q / 4)] as number) * (v[q % 4] as number));
    const { jitter } = choleskyWithRepair(a, 4, { method: 'eigenClip', jitterStart: 1e-30, eigenScale: 3 });
    expect(jitter).toBeGreaterThan(1e-30);
    const k = Math.round(Math.log10(jitter / 1e-30));
    expect(jitter).toBe([...Array(k)].reduce((j: number) => j * 10, 1e-30));
    const clipped = eigenClip(a, 4, 3);
    const withJitter = (delta: number): Float64Array => clipped.map((x, q) => (q % 5 === 0 ? x + delta : x));
    expect(cholesky(withJitter(jitter), 4)).not.toBeNull();
    expect(cholesky(withJitter(jitter / 10), 4)).toBeNull();
  });
});

describe("GGEUR's anchor rule (anchorIndices)", () => {
  for (const g of golden.anchors) {
    it(`needed ${g.needed} > count ${g.count}: every sample in order, ⌈needed/count⌉ each, truncated (NumPy transcription)`, () => {
      expect(Array.from(anchorIndices(g.needed, g.count, seededRng(0)))).toEqual(g.anchors);
    });
  }

  it('needed ≤ count: distinct indices, uniform over the samples, determined by the rng', () => {
    const hits = new Float64Array(10);
    for (let seed = 0; seed < 2000; seed++) {
      const a = anchorIndices(4, 10, seededRng(seed));
      expect(new Set(a).size).toBe(4);
      for (const i of a) hits[i] = (hits[i] as number) + 1;
    }
    // Each index is picked with probability 0.4: 800 of 2000, sd ≈ 22.
    for (const h of hits) expect(Math.abs(h - 800)).toBeLessThan(100);
    expect(Array.from(anchorIndices(10, 10, seededRng(3))).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(anchorIndices(6, 9, seededRng(5)))).toEqual(Array.from(anchorIndices(6, 9, seededRng(5))));
    expect(anchorIndices(0, 0, seededRng(0)).length).toBe(0);
    expect(thrown(() => anchorIndices(3, 0, seededRng(0))).code).toBe('INVALID_OPTION');
  });
});

/** Class 0: 3 rows, class 1: 6 rows, class 2: 5 rows (d = 3), interleaved. */
function data(): { x: number[]; y: number[] } {
  const rng = seededRng(42);
  const y = [0, 1, 2, 1, 0, 2, 1, 1, 2, 0, 1, 2, 1, 2];
  const x = y.flatMap((c) => [c * 10 + rng.next() * 4, -c * 5 + rng.next() * 4, rng.next() * 4 + c]);
  return { x, y };
}

function observed(options: Omit<ClassGaussianOptions, 'numClasses'>, rows?: readonly number[]): ClassGaussian {
  const { x, y } = data();
  const pick = rows ?? y.map((_, i) => i);
  const g = new ClassGaussian({ numClasses: 3, ...options });
  const features = tf.tensor2d(pick.flatMap((i) => x.slice(i * 3, i * 3 + 3)), [pick.length, 3]);
  const labels = tf.tensor1d(pick.map((i) => y[i] as number), 'int32');
  g.observe({ features, labels });
  tf.dispose([features, labels]);
  return g;
}

/** The real rows of class c, in observation order. */
function classRows(c: number): number[][] {
  const { x, y } = data();
  return y.flatMap((yc, i) => (yc === c ? [x.slice(i * 3, i * 3 + 3)] : []));
}

describe("ClassGaussian center 'samples': x = x_i + L_c·z anchored on the real samples", () => {
  for (const product of ['typed', 'tensor'] as const) {
    it(`every draw sits on its anchor as GGEUR picks it (${product} product)`, () => {
      // A vanishing covariance (s = 1e-14, δ₀ = 1e-16) makes each draw its anchor up to ~1e-7.
      const g = observed({ center: 'samples', psdRepair: 'eigenClip', eigenScale: 1e-14, jitterStart: 1e-16, product, covariance: 'full' });
      const out = g.sample({ perClass: [7, 4, 0] }, seededRng(3));
      const f = Array.from(out.features.dataSync());
      const nearest = (row: number[], c: number): number => {
        const real = classRows(c);
        let best = -1;
        real.forEach((r, i) => {
          if (r.every((v, k) => Math.abs(v - (row[k] as number)) < 1e-4)) best = i;
        });
        return best;
      };
      const anchors = Array.from({ length: 11 }, (_, s) => nearest(f.slice(s * 3, s * 3 + 3), s < 7 ? 0 : 1));
      expect(anchors.slice(0, 7)).toEqual([0, 0, 0, 1, 1, 1, 2]); // needed 7 > n 3: ⌈7/3⌉ = 3 each, truncated
      const drawn = anchors.slice(7);
      expect(drawn.every((a) => a >= 0)).toBe(true);
      expect(new Set(drawn).size).toBe(4); // needed 4 ≤ n 6: distinct anchors
      expect(Array.from(out.labels.dataSync())).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
      tf.dispose([out.features, out.labels]);
      g.dispose();
    });
  }

  it('draw − anchor has mean 0 and covariance L·Lᵀ (the repaired Σ_c), within sampling error', () => {
    const g = observed({ center: 'samples', covariance: 'ledoitWolf', psdRepair: 'eigenClip', eigenScale: 5 });
    const n = 30_000;
    const out = g.sample({ perClass: [0, 0, n] }, seededRng(11));
    const f = out.features.dataSync();
    const real = classRows(2);
    const per = Math.ceil(n / real.length);
    const diff = Array.from({ length: n }, (_, s) => [0, 1, 2].map((k) => (f[s * 3 + k] as number) - ((real[Math.floor(s / per)] as number[])[k] as number)));
    const target = llt(g.distribution(2).factor, 3);
    for (let i = 0; i < 3; i++) {
      const mean = diff.reduce((a, r) => a + (r[i] as number), 0) / n;
      expect(Math.abs(mean)).toBeLessThan(4 * Math.sqrt((target[i * 3 + i] as number) / n));
      for (let j = 0; j < 3; j++) {
        const cov = diff.reduce((a, r) => a + (r[i] as number) * (r[j] as number), 0) / n;
        const sd = Math.sqrt(((target[i * 3 + i] as number) * (target[j * 3 + j] as number)) / n);
        expect(Math.abs(cov - (target[i * 3 + j] as number))).toBeLessThan(5 * sd * Math.SQRT2);
      }
    }
    // The amplified covariance: 5·Σ_c + δ₀·I (Σ_c is positive definite here, so the clip changes nothing).
    const sigma = g.distribution(2).covariance;
    target.forEach((v, q) => expect(v).toBeCloseTo(5 * (sigma[q] as number) + (q % 4 === 0 ? 1e-6 : 0), 6));
    tf.dispose([out.features, out.labels]);
    g.dispose();
  });

  it('is deterministic per rng; merging two halves keeps every anchor; the default stays mean-centred', async () => {
    const whole = observed({ center: 'samples', covariance: 'diagonal' });
    const a = observed({ center: 'samples', covariance: 'diagonal' }, [0, 1, 2, 3, 4, 5, 6]);
    const b = observed({ center: 'samples', covariance: 'diagonal' }, [7, 8, 9, 10, 11, 12, 13]);
    a.merge(b);
    const req = { perClass: [6, 12, 5] };
    const p = whole.sample(req, seededRng(8));
    const q = a.sample(req, seededRng(8));
    const r = whole.sample(req, seededRng(8));
    expect(Array.from(r.features.dataSync())).toEqual(Array.from(p.features.dataSync()));
    const pf = p.features.dataSync();
    q.features.dataSync().forEach((v, i) => expect(v).toBeCloseTo(pf[i] as number, 4));
    tf.dispose([p.features, p.labels, q.features, q.labels, r.features, r.labels]);
    await expectNoLeak(() => whole.sample(req, seededRng(1)));
    await expectNoLeak(() => observed({ center: 'samples', product: 'tensor' }).sample(req, seededRng(1)));
    const mean = observed({ center: 'mean' });
    const plain = observed({});
    const m1 = mean.sample(req, seededRng(2));
    const m2 = plain.sample(req, seededRng(2));
    expect(Array.from(m1.features.dataSync())).toEqual(Array.from(m2.features.dataSync()));
    tf.dispose([m1.features, m1.labels, m2.features, m2.labels]);
    for (const s of [whole, a, b, mean, plain]) s.dispose();
  });

  it('validates the new options, keeps them in its config, and rebuilds from it', () => {
    const before = tf.memory().numTensors;
    for (const [options, message] of [
      [{ center: 'anchors' }, 'expected center to be one of "mean", "samples". Received: center="anchors"'],
      [{ jitterStart: 0 }, 'expected jitterStart > 0. Received: jitterStart=0'],
      [{ eigenScale: -5 }, 'expected eigenScale > 0. Received: eigenScale=-5'],
      [{ psdRepair: 'clip' }, 'expected psdRepair to be one of "jitter", "eigenFloor", "eigenClip". Received: psdRepair="clip"'],
    ] as const) {
      const e = thrown(() => new ClassGaussian({ numClasses: 2, ...(options as object) }));
      expect(e.code).toBe('INVALID_OPTION');
      expect(e.message).toBe(message);
    }
    expect(thrown(() => new ClassGaussian({ numClasses: 2, centre: 'samples' } as never)).code).toBe('UNKNOWN_OPTION');
    const g = new ClassGaussian({ numClasses: 3, center: 'samples', psdRepair: 'eigenClip', eigenScale: 5, jitterStart: 1e-5 });
    expect(g.config).toMatchObject({ center: 'samples', psdRepair: 'eigenClip', eigenScale: 5, jitterStart: 1e-5 });
    const again = synthRegistry.fromConfig(JSON.parse(JSON.stringify(toConfig(g))));
    expect(again.config).toEqual(g.config);
    expect(new ClassGaussian({ numClasses: 2 }).config).toMatchObject({ center: 'mean', eigenScale: 1, jitterStart: 1e-6, psdRepair: 'jitter' });
    // A mean-centred synthesizer holds no anchors: merging it into an anchored one is refused, nothing changes.
    const anchored = observed({ center: 'samples' });
    const e = thrown(() => anchored.merge(observed({})));
    expect(e.code).toBe('INVALID_OPTION');
    expect(Array.from(anchored.observedCounts())).toEqual([3, 6, 5]);
    expect(tf.memory().numTensors).toBe(before);
    for (const s of [g, again, anchored]) s.dispose();
  });
});
