/** Naive plain-JS references (loops over numbers, float64) and fixtures for the loss tests. */
import * as tf from '@tensorflow/tfjs';
import { seededRng, type Rng } from '../../src/core/rng.js';

export type Matrix = number[][];

export function randomMatrix(rng: Rng, rows: number, cols: number, scale = 1): Matrix {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal() * scale));
}

export function randomLabels(rng: Rng, n: number, numClasses: number): number[] {
  return Array.from({ length: n }, () => rng.int(numClasses));
}

export function logSoftmaxRow(z: readonly number[]): number[] {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
}

/** −Σ q log softmax(z) per row; q one-hot or soft, optionally smoothed. */
export function naiveCrossEntropy(z: Matrix, labels: readonly number[], opts: { targets?: Matrix; smoothing?: number } = {}): number[] {
  return z.map((row, i) => {
    const c = row.length;
    const lp = logSoftmaxRow(row);
    let loss = 0;
    for (let j = 0; j < c; j++) {
      let q = opts.targets ? (opts.targets[i] as number[])[j] as number : j === labels[i] ? 1 : 0;
      if (opts.smoothing) q = (1 - opts.smoothing) * q + opts.smoothing / c;
      loss -= q * (lp[j] as number);
    }
    return loss;
  });
}

export function naiveLogPrior(counts: readonly number[], tau: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((n) => tau * Math.log(n / total + 1e-12));
}

export function addRow(z: Matrix, offsets: readonly number[]): Matrix {
  return z.map((row) => row.map((v, j) => v + (offsets[j] as number)));
}

export function naiveFocal(z: Matrix, labels: readonly number[], gamma: number): number[] {
  return z.map((row, i) => {
    const lp = logSoftmaxRow(row)[labels[i] as number] as number;
    return Math.pow(-Math.expm1(lp), gamma) * -lp;
  });
}

export function naiveLdam(z: Matrix, labels: readonly number[], counts: readonly number[], maxMargin: number, s: number): number[] {
  const raw = counts.map((n) => (n > 0 ? 1 / Math.pow(n, 0.25) : 0));
  const top = Math.max(...raw);
  const m = counts.map((n, j) => (n > 0 ? ((raw[j] as number) * maxMargin) / top : maxMargin));
  const shifted = z.map((row, i) => row.map((v, j) => s * (j === labels[i] ? v - (m[j] as number) : v)));
  return naiveCrossEntropy(shifted, labels);
}

export function naiveNeighborSilencing(z: Matrix, labels: readonly number[], counts: readonly number[], mask: boolean[][], tau: number, targets?: Matrix): number[] {
  const prior = naiveLogPrior(counts, tau);
  return z.map((row, i) => {
    const y = labels[i] as number;
    const allowed = mask[y] as boolean[];
    // Silenced classes removed from the softmax outright.
    const zs = row.map((v, j) => v + (prior[j] as number));
    const kept = zs.filter((_, j) => allowed[j]);
    const m = Math.max(...kept);
    const lse = m + Math.log(kept.reduce((s, v) => s + Math.exp(v - m), 0));
    let loss = 0;
    for (let j = 0; j < row.length; j++) {
      if (!allowed[j]) continue;
      const q = targets ? ((targets[i] as number[])[j] as number) : j === y ? 1 : 0;
      loss -= q * ((zs[j] as number) - lse);
    }
    return loss;
  });
}

/** SupCon per anchor from the definition: loops over anchors and positives. features[i][v] = d-vector. */
export function naiveSupCon(
  features: number[][][],
  labels: readonly number[] | null,
  T: number,
  Tb: number,
  contrast?: { features: Matrix; labels: readonly number[] | null },
): { values: number[]; weights: number[] } {
  const norm = (v: readonly number[]) => {
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return v.map((x) => x / Math.max(n, 1e-12));
  };
  const n = features.length;
  const V = (features[0] as number[][]).length;
  const anchors: { f: number[]; id: number }[] = [];
  for (let v = 0; v < V; v++) for (let i = 0; i < n; i++) anchors.push({ f: norm((features[i] as number[][])[v] as number[]), id: labels ? (labels[i] as number) : i });
  const others = [...anchors, ...(contrast?.features ?? []).map((f, k) => ({ f: norm(f), id: contrast?.labels ? (contrast.labels[k] as number) : -1 }))];
  const dot = (a: number[], b: number[]) => a.reduce((s, x, j) => s + x * (b[j] as number), 0);
  const values: number[] = [];
  const weights: number[] = [];
  anchors.forEach((a, ai) => {
    const sims = others.map((o) => dot(a.f, o.f) / T);
    let denom = 0;
    sims.forEach((s, b) => {
      if (b !== ai) denom += Math.exp(s);
    });
    let sum = 0;
    let count = 0;
    others.forEach((o, b) => {
      if (b !== ai && o.id === a.id) {
        sum += (sims[b] as number) - Math.log(denom);
        count++;
      }
    });
    values.push(count === 0 ? 0 : (-(T / Tb) * sum) / count);
    weights.push(count === 0 ? 0 : 1);
  });
  return { values, weights };
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function int1d(values: readonly number[]): tf.Tensor1D {
  return tf.tensor1d(values as number[], 'int32');
}

export const rngFor = (label: string): Rng => seededRng(2024).fork(label);
