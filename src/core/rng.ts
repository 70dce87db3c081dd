/**
 * Seeded random numbers. One `seed` controls every random choice in the library: components receive an
 * {@link Rng} (or fork one with a label) and never use the global unseeded generator or tfjs's unseeded shuffle.
 *
 * The generator is seedrandom's Alea (the one tfjs-data uses for its seeded shuffle). Its state is a few
 * numbers, so it is saved in checkpoints and restored exactly.
 */
import seedrandom from 'seedrandom';
import { checkInteger, checkPositive } from './validate.js';
import { invalid } from './errors.js';

/** The serialisable state of an {@link Rng}: its derivation key and the Alea state. */
export interface RngState {
  readonly key: string;
  readonly alea: { readonly c: number; readonly s0: number; readonly s1: number; readonly s2: number };
  /** The second normal of the last Box–Muller pair, not yet returned (absent when there is none). */
  readonly spareNormal?: number;
}

/** A seeded stream of random numbers. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** Standard normal N(0, 1) (Box–Muller). */
  normal(): number;
  /** A fresh integer seed in [0, 2^31) for the stateless `seed` argument of `tf.random*` ops. */
  seed(): number;
  /**
   * An independent child stream, a pure function of this stream's key and `label` (it does not consume
   * or depend on this stream's position), so adding draws in one component never shifts another's.
   */
  fork(label: string): Rng;
  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T;
  /** Snapshot of the current position, for checkpoints. */
  state(): RngState;
}

/** The key a root stream is derived from; kept readable so checkpoints are inspectable. */
function rootKey(seed: number | string): string {
  return `longtail:${String(seed)}`;
}

type AleaPrng = seedrandom.StatefulPRNG<seedrandom.State.Alea>;

function makeAlea(key: string, state?: RngState['alea']): AleaPrng {
  return seedrandom.alea(key, { state: state === undefined ? true : { ...state } });
}

class AleaRng implements Rng {
  private readonly prng: AleaPrng;
  private spareNormal: number | null = null;

  constructor(
    private readonly key: string,
    state?: RngState['alea'],
    spare?: number,
  ) {
    this.prng = makeAlea(key, state);
    this.spareNormal = spare ?? null;
  }

  next(): number {
    return this.prng();
  }

  int(maxExclusive: number): number {
    checkInteger('maxExclusive', maxExclusive, { min: 1 });
    return Math.floor(this.prng() * maxExclusive);
  }

  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.prng();
    const v = this.prng();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  seed(): number {
    return Math.floor(this.prng() * 2147483647);
  }

  fork(label: string): Rng {
    return new AleaRng(`${this.key}/${label}`);
  }

  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = Math.floor(this.prng() * (i + 1));
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  state(): RngState {
    // The pending Box–Muller spare is part of the position: taking a snapshot must not change the stream.
    return { key: this.key, alea: { ...this.prng.state() }, ...(this.spareNormal === null ? {} : { spareNormal: this.spareNormal }) };
  }
}

/**
 * Creates the root random stream for a run.
 *
 * @param seed - an integer or string; the same seed gives the same numbers on every platform.
 */
export function seededRng(seed: number | string): Rng {
  if (typeof seed === 'number') checkInteger('seed', seed, { min: Number.MIN_SAFE_INTEGER });
  else if (typeof seed !== 'string') throw invalid('INVALID_OPTION', 'seed to be an integer or a string', 'seed', seed);
  return new AleaRng(rootKey(seed));
}

/** Restores a stream saved with {@link Rng.state}; it continues exactly where the saved one was. */
export function restoreRng(state: RngState): Rng {
  if (state === null || typeof state !== 'object' || typeof state.key !== 'string' || typeof state.alea !== 'object') {
    throw invalid('INVALID_OPTION', 'an RngState { key, alea }', 'state', state);
  }
  if (state.spareNormal !== undefined && (typeof state.spareNormal !== 'number' || !Number.isFinite(state.spareNormal))) {
    throw invalid('INVALID_OPTION', 'state.spareNormal to be a finite number when present', 'state.spareNormal', state.spareNormal);
  }
  return new AleaRng(state.key, state.alea, state.spareNormal);
}

/** A random permutation of `0..n-1`. */
export function permutation(rng: Rng, n: number): Int32Array {
  checkInteger('n', n);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return rng.shuffle(out);
}

/** Gamma(shape, 1) by Marsaglia–Tsang (shape < 1 via the boost u^(1/shape)). */
export function sampleGamma(rng: Rng, shape: number): number {
  checkPositive('shape', shape);
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng.next();
    return sampleGamma(rng, shape + 1) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). Beta(1, 1) is uniform. */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x / (x + y);
}
