/**
 * Checkpoints: a trainer state as plain data, and its on-disk form (a directory with `state.json` and one
 * little-endian binary file `tensors.bin` holding every float array), written atomically by renaming.
 */
import { LongTailError, invalid } from '../core/errors.js';
import type { OptimizerState } from './optimizers.js';
import type { Logs } from './callbacks.js';
import type { RngState } from '../core/rng.js';

/** Everything needed to continue a run bit-identically on the same backend. */
export interface TrainerState {
  readonly format: 'longtail-trainer-state';
  readonly version: 1;
  /** The next epoch to run. */
  readonly epoch: number;
  readonly step: number;
  readonly seed: number;
  readonly history: readonly Logs[];
  readonly variables: readonly { readonly name: string; readonly shape: readonly number[]; readonly values: Float32Array }[];
  readonly optimizer: OptimizerState;
  /** The model's own random stream (dropout), when it has one. */
  readonly modelRng: RngState | null;
  readonly pool: null | {
    readonly epoch: number;
    readonly shape: readonly number[];
    readonly features: Float32Array;
    readonly labels: Int32Array;
  };
}

interface ArrayRef {
  readonly offset: number;
  readonly length: number;
}

/** Writes `state` to directory `path` (created if needed). Node only. */
export async function writeCheckpoint(path: string, state: TrainerState): Promise<void> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const put = (values: Float32Array | Int32Array): ArrayRef => {
    const bytes = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    chunks.push(bytes);
    const ref = { offset, length: values.length };
    offset += bytes.byteLength;
    return ref;
  };
  const header = {
    ...state,
    variables: state.variables.map((v) => ({ name: v.name, shape: v.shape, values: put(v.values) })),
    optimizer: { step: state.optimizer.step, slots: state.optimizer.slots.map((s) => ({ name: s.name, shape: s.shape, values: put(s.values) })) },
    pool: state.pool === null ? null : { epoch: state.pool.epoch, shape: state.pool.shape, features: put(state.pool.features), labels: put(state.pool.labels) },
  };
  await fs.mkdir(path, { recursive: true });
  const bin = Buffer.concat(chunks);
  await fs.writeFile(join(path, 'tensors.bin.tmp'), bin);
  await fs.writeFile(join(path, 'state.json.tmp'), JSON.stringify(header));
  await fs.rename(join(path, 'tensors.bin.tmp'), join(path, 'tensors.bin'));
  await fs.rename(join(path, 'state.json.tmp'), join(path, 'state.json'));
}

/** Reads a checkpoint directory written by {@link writeCheckpoint}. */
export async function readCheckpoint(path: string): Promise<TrainerState> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  let text: string;
  let bin: Buffer;
  try {
    text = await fs.readFile(join(path, 'state.json'), 'utf8');
    bin = await fs.readFile(join(path, 'tensors.bin'));
  } catch (e) {
    throw new LongTailError('MISSING_INPUT', `expected a checkpoint directory with state.json and tensors.bin. Received: path=${JSON.stringify(path)} (${(e as Error).message})`);
  }
  const header = JSON.parse(text) as Record<string, unknown>;
  if (header['format'] !== 'longtail-trainer-state' || header['version'] !== 1) {
    throw invalid('INVALID_DATA', 'a longtail-trainer-state version 1 checkpoint', 'format', header['format']);
  }
  const buffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const f32 = (ref: ArrayRef): Float32Array => {
    if (ref.offset + ref.length * 4 > buffer.byteLength) throw invalid('INVALID_DATA', 'tensors.bin to hold every array', 'offset', ref.offset);
    return new Float32Array(buffer.slice(ref.offset, ref.offset + ref.length * 4));
  };
  const i32 = (ref: ArrayRef): Int32Array => new Int32Array(f32(ref).buffer);
  type Ref = { name: string; shape: number[]; values: ArrayRef };
  const h = header as unknown as {
    epoch: number;
    step: number;
    seed: number;
    history: Logs[];
    variables: Ref[];
    optimizer: { step: number; slots: Ref[] };
    modelRng: RngState | null;
    pool: null | { epoch: number; shape: number[]; features: ArrayRef; labels: ArrayRef };
  };
  return {
    format: 'longtail-trainer-state',
    version: 1,
    epoch: h.epoch,
    step: h.step,
    seed: h.seed,
    history: h.history,
    variables: h.variables.map((v) => ({ name: v.name, shape: v.shape, values: f32(v.values) })),
    optimizer: { step: h.optimizer.step, slots: h.optimizer.slots.map((s) => ({ name: s.name, shape: s.shape, values: f32(s.values) })) },
    modelRng: h.modelRng ?? null,
    pool: h.pool === null ? null : { epoch: h.pool.epoch, shape: h.pool.shape, features: f32(h.pool.features), labels: i32(h.pool.labels) },
  };
}
