/**
 * The trainer's state as plain data, and its validation. A state is checked whole before anything of it
 * is assigned, so a corrupt or foreign checkpoint leaves the trainer exactly as it was.
 */
import { formatValue, LongTailError } from '../core/errors.js';
import type { RngState } from '../core/rng.js';
import type { Logs } from './callbacks.js';
import type { OptimizerState } from './optimizers.js';
import type { LossStateSnapshot } from '../losses/types.js';
import type { SynthesisRound } from './config.js';

/**
 * Where an interrupted epoch stands: its batch order (drawn once when the epoch began), the next batch to
 * run, the augmentation stream's position and the running sums behind the epoch's logged loss. With it, a
 * run aborted mid-epoch continues bit-identically to the uninterrupted run.
 */
export interface EpochPosition {
  /** The epoch in progress. */
  readonly epoch: number;
  /** Index of the next batch to run. */
  readonly batch: number;
  /** The epoch's batches (sample indices over real then synthetic samples). */
  readonly batches: readonly Int32Array[];
  /** Position of the epoch's augmentation stream. */
  readonly augmentRng: RngState;
  /** Σ loss·batch size, Σ batch size and Σ term·batch size over the batches already run. */
  readonly sums: {
    readonly loss: number;
    readonly seen: number;
    readonly terms: Readonly<Record<string, number>>;
    /** Σ of each `count` term over the batches already run. */
    readonly counts?: Readonly<Record<string, number>>;
  };
}

/** Everything needed to continue a run bit-identically on the same backend. */
export interface TrainerState {
  readonly format: 'longtail-trainer-state';
  readonly version: 2;
  /** The epoch `fit` continues with (the interrupted one when `position` is set). */
  readonly epoch: number;
  /** Optimisation steps taken so far. */
  readonly step: number;
  readonly seed: number;
  readonly history: readonly Logs[];
  /** Every model variable in `model.variables` order (names are tfjs's and differ between processes). */
  readonly variables: readonly { readonly name: string; readonly shape: readonly number[]; readonly values: Float32Array }[];
  readonly optimizer: OptimizerState;
  /** The model's own random stream (dropout), when it has one. */
  readonly modelRng: RngState | null;
  readonly pool: null | {
    readonly epoch: number;
    /** Absent in states written before input-space synthesis: `'latent'`. */
    readonly space?: 'latent' | 'input';
    readonly shape: readonly number[];
    readonly features: Float32Array;
    readonly labels: Int32Array;
  };
  /** Set when the state was taken inside an epoch (after an abort). */
  readonly position: EpochPosition | null;
  /** Every synthesis round so far (absent in older states: none). */
  readonly synthesis?: readonly SynthesisRound[];
  /** The loss's states by key (absent in older states: none). */
  readonly lossStates?: Readonly<Record<string, LossStateSnapshot | null>>;
}

/** What a state must match to be restored into a trainer. */
export interface StateExpectations {
  /** Shapes of `model.variables`, in order. */
  readonly variableShapes: readonly (readonly number[])[];
  readonly seed: number;
  readonly epochs: number;
  readonly featureDim: number;
  readonly trainClasses: number;
}

/** Throws `INVALID_CHECKPOINT` with the canonical message. */
export function badState(expected: string, name: string, value: unknown): never {
  throw new LongTailError('INVALID_CHECKPOINT', `expected ${expected}. Received: ${name}=${formatValue(value)}`, { name });
}

function isInt(v: unknown, min = 0): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/** An {@link RngState} as `Rng.state()` writes it. */
export function checkRngState(name: string, value: unknown): RngState {
  const s = value as RngState | null;
  const a = s?.alea as Record<string, unknown> | undefined;
  const ok =
    s !== null &&
    typeof s === 'object' &&
    typeof s.key === 'string' &&
    a !== undefined &&
    a !== null &&
    typeof a === 'object' &&
    ['c', 's0', 's1', 's2'].every((k) => typeof a[k] === 'number' && Number.isFinite(a[k])) &&
    (s.spareNormal === undefined || (typeof s.spareNormal === 'number' && Number.isFinite(s.spareNormal)));
  if (!ok) badState('a random stream state { key, alea: { c, s0, s1, s2 }, spareNormal? }', name, value);
  return s as RngState;
}

/** Shapes equal element by element. */
function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function product(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

function checkShape(name: string, value: unknown): readonly number[] {
  if (!Array.isArray(value) || !value.every((d) => isInt(d))) badState('a shape (array of integers >= 0)', name, value);
  return value as number[];
}

/**
 * Checks the structure of a state (types, ranges, lengths) without knowing the trainer it is for. Used on
 * everything read from disk, and by {@link checkStateFor}.
 */
export function checkStateStructure(state: TrainerState): void {
  if (state === null || typeof state !== 'object') badState('a trainer state from state() or load()', 'state', state);
  if (state.format !== 'longtail-trainer-state') badState('format "longtail-trainer-state"', 'format', state.format);
  if (state.version !== 2) badState('trainer state version 2', 'version', state.version);
  if (!isInt(state.epoch)) badState('epoch to be an integer >= 0', 'epoch', state.epoch);
  if (!isInt(state.step)) badState('step to be an integer >= 0', 'step', state.step);
  if (!isInt(state.seed, Number.MIN_SAFE_INTEGER)) badState('seed to be an integer', 'seed', state.seed);
  if (!Array.isArray(state.history)) badState('history to be an array of logs', 'history', state.history);
  state.history.forEach((logs, i) => {
    if (logs === null || typeof logs !== 'object' || Array.isArray(logs)) badState('each history entry to be an object of numbers', `history[${i}]`, logs);
    for (const [k, v] of Object.entries(logs)) if (typeof v !== 'number') badState('each history entry to be an object of numbers', `history[${i}].${k}`, v);
  });
  if (!Array.isArray(state.variables)) badState('variables to be an array', 'variables', state.variables);
  state.variables.forEach((v, i) => {
    if (typeof v?.name !== 'string') badState('a variable name', `variables[${i}].name`, v?.name);
    const shape = checkShape(`variables[${i}].shape`, v.shape);
    if (!(v.values instanceof Float32Array) || v.values.length !== product(shape)) {
      badState(`${product(shape)} float32 values for shape [${shape.join(', ')}]`, `variables[${i}].values.length`, v.values?.length);
    }
  });
  const opt = state.optimizer;
  if (opt === null || typeof opt !== 'object' || !isInt(opt.step) || !Array.isArray(opt.slots)) badState('optimizer state { step, slots }', 'optimizer', opt);
  opt.slots.forEach((s, i) => {
    const shape = checkShape(`optimizer.slots[${i}].shape`, s?.shape);
    if (!(s.values instanceof Float32Array) || s.values.length !== product(shape)) badState(`${product(shape)} float32 values`, `optimizer.slots[${i}].values.length`, s.values?.length);
  });
  if (state.modelRng !== null) checkRngState('modelRng', state.modelRng);
  const pool = state.pool;
  if (pool !== null) {
    if (typeof pool !== 'object' || !isInt(pool.epoch)) badState('pool { epoch, shape, features, labels } or null', 'pool', pool);
    const shape = checkShape('pool.shape', pool.shape);
    if (pool.space !== undefined && pool.space !== 'latent' && pool.space !== 'input') badState('pool.space "latent" or "input"', 'pool.space', pool.space);
    if ((pool.space ?? 'latent') === 'latent' ? shape.length !== 2 : shape.length < 2) badState('pool.shape of rank 2 (latent) or at least 2 (input)', 'pool.shape', shape);
    if (!(pool.features instanceof Float32Array) || pool.features.length !== product(shape)) badState(`${product(shape)} pool features`, 'pool.features.length', pool.features?.length);
    if (!(pool.labels instanceof Int32Array) || pool.labels.length !== shape[0]) badState(`${shape[0]} pool labels`, 'pool.labels.length', pool.labels?.length);
    for (let i = 0; i < pool.features.length; i++) {
      if (!Number.isFinite(pool.features[i] as number)) badState('finite pool features', `pool.features[${i}]`, pool.features[i]);
    }
  }
  const pos = state.position;
  if (pos !== null) {
    if (typeof pos !== 'object' || !Array.isArray(pos.batches)) badState('position { epoch, batch, batches, augmentRng, sums } or null', 'position', pos);
    if (pos.epoch !== state.epoch) badState(`position.epoch = epoch (${state.epoch})`, 'position.epoch', pos.epoch);
    if (!isInt(pos.batch) || pos.batch > pos.batches.length) badState(`position.batch in [0, ${pos.batches.length}]`, 'position.batch', pos.batch);
    pos.batches.forEach((b, i) => {
      if (!(b instanceof Int32Array)) badState('each batch to be an Int32Array of sample indices', `position.batches[${i}]`, b);
    });
    checkRngState('position.augmentRng', pos.augmentRng);
    const sums = pos.sums;
    if (sums === null || typeof sums !== 'object' || typeof sums.loss !== 'number' || !isInt(sums.seen) || sums.terms === null || typeof sums.terms !== 'object') {
      badState('position.sums { loss, seen, terms }', 'position.sums', sums);
    }
    for (const [k, v] of Object.entries(sums.terms)) if (typeof v !== 'number') badState('numeric term sums', `position.sums.terms.${k}`, v);
    for (const [k, v] of Object.entries(sums.counts ?? {})) if (typeof v !== 'number') badState('numeric count sums', `position.sums.counts.${k}`, v);
  }
  if (state.synthesis !== undefined) {
    if (!Array.isArray(state.synthesis)) badState('synthesis rounds as an array', 'synthesis', state.synthesis);
    state.synthesis.forEach((r, i) => {
      const ok = r !== null && typeof r === 'object' && isInt(r.epoch) && (r.space === 'latent' || r.space === 'input') && Array.isArray(r.requested) && Array.isArray(r.accepted);
      if (!ok) badState('a synthesis round { epoch, space, requested, accepted }', `synthesis[${i}]`, r);
    });
  }
  if (state.lossStates !== undefined && (state.lossStates === null || typeof state.lossStates !== 'object' || Array.isArray(state.lossStates))) {
    badState('loss states as { [key]: snapshot | null }', 'lossStates', state.lossStates);
  }
}

/**
 * Checks that a structurally valid state belongs to a trainer with these expectations: same seed, same
 * variable shapes in the same order, an epoch within the run, a pool of the head's width and classes, and
 * batch indices inside the data (real + pool) the epoch was drawn over. `numSamples` is the real training
 * set's size when known (a state restored before `fit` is checked against the data when `fit` resumes).
 */
export function checkStateFor(state: TrainerState, expect: StateExpectations): void {
  checkStateStructure(state);
  if (state.seed !== expect.seed) badState(`a checkpoint of a run with seed ${expect.seed}`, 'seed', state.seed);
  if (state.epoch > expect.epochs) badState(`epoch <= epochs (${expect.epochs})`, 'epoch', state.epoch);
  if (state.variables.length !== expect.variableShapes.length) {
    badState(`${expect.variableShapes.length} model variables`, 'variables.length', state.variables.length);
  }
  state.variables.forEach((v, i) => {
    const want = expect.variableShapes[i] as readonly number[];
    if (!sameShape(v.shape, want)) badState(`variable ${i} of shape [${want.join(', ')}]`, `variables[${i}].shape (${v.name})`, v.shape);
  });
  const pool = state.pool;
  if (pool !== null) {
    if ((pool.space ?? 'latent') === 'latent' && pool.shape[1] !== expect.featureDim) badState(`pool features of width ${expect.featureDim} (model.featureDim)`, 'pool.shape[1]', pool.shape[1]);
    for (let i = 0; i < pool.labels.length; i++) {
      const y = pool.labels[i] as number;
      if (y < 0 || y >= expect.trainClasses) badState(`pool labels in [0, ${expect.trainClasses})`, `pool.labels[${i}]`, y);
    }
  }
}

/** Checks that an epoch position's batches index into `total` samples (real + pool). */
export function checkPositionFits(position: EpochPosition, total: number): void {
  position.batches.forEach((b, i) => {
    for (let j = 0; j < b.length; j++) {
      const v = b[j] as number;
      if (v < 0 || v >= total) badState(`batch indices in [0, ${total}) (the data the epoch was drawn over)`, `position.batches[${i}][${j}]`, v);
    }
  });
}
