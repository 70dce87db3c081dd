/**
 * Pearson's chi-square goodness-of-fit test and the special functions behind its p-value: log Γ (Lanczos)
 * and the regularised upper incomplete gamma function Q(a, x) (series and continued fraction, as in
 * Press et al., "Numerical Recipes", 3rd ed., §6.2).
 */
import { invalid, LongTailError } from '../core/errors.js';
import { checkOptions, type OptionKeys } from '../core/options.js';
import { checkSameSize } from '../core/validate.js';

/** Lanczos coefficients for g = 7, n = 9 (relative error below 1e-15 for x > 0). */
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation; the reflection formula covers 0 < x < 1/2). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const EPS = 1e-16;
const TINY = 1e-300;
const MAX_ITERATIONS = 10_000;

/** P(a, x) by its power series, for x < a + 1: e^(−x) x^a / Γ(a) · Σ_k x^k / (a (a+1) … (a+k)). */
function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let k = 1; k < MAX_ITERATIONS; k++) {
    term *= x / (a + k);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Q(a, x) by its continued fraction (modified Lentz), for x ≥ a + 1. */
function upperFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/**
 * The regularised upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a) = 1 − P(a, x), with
 * Γ(a, x) = ∫_x^∞ t^(a−1) e^(−t) dt (SciPy's `scipy.special.gammaincc(a, x)`). The chi-square survival
 * function is Q(k / 2, χ² / 2).
 *
 * @throws LongTailError `INVALID_OPTION` unless a > 0 and x ≥ 0 (x = ∞ gives 0).
 */
export function regularizedGammaQ(a: number, x: number): number {
  if (typeof a !== 'number' || !(a > 0) || !Number.isFinite(a)) throw invalid('INVALID_OPTION', 'a > 0 and finite', 'a', a);
  if (typeof x !== 'number' || !(x >= 0)) throw invalid('INVALID_OPTION', 'x >= 0', 'x', x);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - lowerSeries(a, x) : upperFraction(a, x);
}

/** Options of {@link pearsonChiSquare}. */
export interface PearsonChiSquareOptions {
  /** Observed counts O_j (non-negative). */
  readonly observed: ArrayLike<number>;
  /** Expected counts E_j under the hypothesis (non-negative, Σ E = Σ O up to a relative 1e-8). */
  readonly expected: ArrayLike<number>;
}

/** The outcome of a chi-square goodness-of-fit test. */
export interface ChiSquareResult {
  /** χ² = Σ_{j: E_j > 0} (O_j − E_j)² / E_j; +∞ when a category with E_j = 0 was observed. */
  readonly statistic: number;
  /** Degrees of freedom k = #{j : E_j > 0} − 1. */
  readonly dof: number;
  /** P(X ≥ χ²) for X ~ χ²_k, = Q(k / 2, χ² / 2); 1 when k = 0 (a single category cannot deviate). */
  readonly pValue: number;
}

const PEARSON_KEYS: OptionKeys<PearsonChiSquareOptions> = { observed: true, expected: true };

function nonNegative(name: string, values: ArrayLike<number>): Float64Array {
  if (values === null || values === undefined || typeof values.length !== 'number') {
    throw invalid('INVALID_OPTION', `${name} to be an array of counts`, name, values);
  }
  const out = Float64Array.from(values);
  out.forEach((v, j) => {
    if (!Number.isFinite(v) || v < 0) throw invalid('INVALID_OPTION', `every ${name} entry to be a finite number >= 0`, `${name}[${j}]`, v);
  });
  return out;
}

/**
 * Pearson's chi-square goodness-of-fit test (Pearson 1900) of observed counts against expected counts, as
 * `scipy.stats.chisquare(f_obs, f_exp)`: χ² = Σ_j (O_j − E_j)² / E_j with k = C − 1 degrees of freedom
 * and p = Q(k / 2, χ² / 2) (`regularizedGammaQ`). Categories with E_j = 0 leave the sum and the
 * degrees of freedom when O_j = 0; an observation where none was expected makes χ² = ∞ and p = 0 (SciPy
 * would divide by zero).
 *
 * @throws LongTailError `SHAPE_MISMATCH` when the lengths differ; `INVALID_OPTION` for negative or
 *   non-finite entries, or when Σ O and Σ E differ by more than a relative 1e-8 (as SciPy ≥ 1.9).
 */
export function pearsonChiSquare(options: PearsonChiSquareOptions): ChiSquareResult {
  checkOptions('pearsonChiSquare options', options, PEARSON_KEYS);
  const observed = nonNegative('observed', options.observed);
  const expected = nonNegative('expected', options.expected);
  checkSameSize('observed.length', expected.length, 'expected.length', observed.length);
  if (observed.length === 0) throw invalid('INVALID_OPTION', 'at least one category', 'observed.length', 0);
  const sumO = observed.reduce((a, b) => a + b, 0);
  const sumE = expected.reduce((a, b) => a + b, 0);
  if (Math.abs(sumO - sumE) > 1e-8 * Math.max(sumO, sumE)) {
    throw new LongTailError(
      'INVALID_OPTION',
      `expected the observed and expected counts to have the same sum. Received: sum(observed)=${sumO}, sum(expected)=${sumE}`,
      { observed: sumO, expected: sumE },
    );
  }
  let statistic = 0;
  let categories = 0;
  expected.forEach((e, j) => {
    const o = observed[j] as number;
    if (e > 0) {
      statistic += (o - e) ** 2 / e;
      categories++;
    } else if (o > 0) statistic = Infinity;
  });
  const dof = Math.max(0, categories - 1);
  const pValue = statistic === Infinity ? 0 : dof === 0 ? 1 : regularizedGammaQ(dof / 2, statistic / 2);
  return { statistic, dof, pValue };
}
