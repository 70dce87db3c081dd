/**
 * Checkpoints on disk: a directory holding one file, `checkpoint.ltc`, written atomically (a unique
 * temporary file opened with O_EXCL, fsync, one rename, fsync of the directory). A kill at any instant
 * leaves the previous checkpoint or the new one, never a mix; concurrent saves to one path each land
 * whole (the last rename wins).
 *
 * File layout (little-endian): 8-byte magic `LTCKPT\0\x02`, u32 header length H, u32 CRC-32 of everything
 * after byte 16, H bytes of JSON header, then the float32/int32 arrays the header points into by
 * `{ offset, length }` (offsets relative to the data section).
 */
import { LongTailError } from '../core/errors.js';
import { crc32 } from '../core/hash.js';
import { importNode } from '../core/node.js';
import type { Logs } from './callbacks.js';
import type { RngState } from '../core/rng.js';
import { badState, checkStateStructure, type TrainerState } from './state.js';

export type { EpochPosition, TrainerState } from './state.js';

/** The checkpoint file's name inside the checkpoint directory. */
export const CHECKPOINT_FILE = 'checkpoint.ltc';

const MAGIC = [0x4c, 0x54, 0x43, 0x4b, 0x50, 0x54, 0x00, 0x02]; // "LTCKPT\0\x02"
const PREFIX = 16;

interface ArrayRef {
  readonly offset: number;
  readonly length: number;
}

/** A state as one byte array in the checkpoint file format. */
export function encodeCheckpoint(state: TrainerState): Uint8Array {
  checkStateStructure(state);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const put = (values: Float32Array | Int32Array): ArrayRef => {
    chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    const ref = { offset, length: values.length };
    offset += values.byteLength;
    return ref;
  };
  const pos = state.position;
  const header = {
    format: state.format,
    version: state.version,
    epoch: state.epoch,
    step: state.step,
    seed: state.seed,
    // JSON has no NaN or ±Infinity: logs keep them as strings.
    history: state.history.map((logs) => Object.fromEntries(Object.entries(logs).map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)]))),
    variables: state.variables.map((v) => ({ name: v.name, shape: v.shape, values: put(v.values) })),
    optimizer: { step: state.optimizer.step, slots: state.optimizer.slots.map((s) => ({ name: s.name, shape: s.shape, values: put(s.values) })) },
    modelRng: state.modelRng,
    pool:
      state.pool === null
        ? null
        : { epoch: state.pool.epoch, space: state.pool.space ?? 'latent', shape: state.pool.shape, features: put(state.pool.features), labels: put(state.pool.labels) },
    position:
      pos === null
        ? null
        : {
            epoch: pos.epoch,
            batch: pos.batch,
            batches: pos.batches.map((b) => put(b)),
            augmentRng: pos.augmentRng,
            sums: {
              loss: String(pos.sums.loss),
              seen: pos.sums.seen,
              terms: Object.fromEntries(Object.entries(pos.sums.terms).map(([k, v]) => [k, String(v)])),
              counts: Object.fromEntries(Object.entries(pos.sums.counts ?? {}).map(([k, v]) => [k, String(v)])),
            },
          },
    synthesis: (state.synthesis ?? []).map((r) => ({ ...r, ...(r.report === undefined ? {} : { report: r.report.map((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)]))) }) })),
    lossStates: Object.fromEntries(
      Object.entries(state.lossStates ?? {}).map(([key, snap]) => [
        key,
        snap === null
          ? null
          : {
              json: snap.json,
              arrays: Object.fromEntries(
                Object.entries(snap.arrays).map(([name, a]) => [name, { shape: a.shape, dtype: a.values instanceof Int32Array ? 'int32' : 'float32', values: put(a.values) }]),
              ),
            },
      ]),
    ),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(PREFIX + json.length + offset);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, json.length, true);
  out.set(json, PREFIX);
  let at = PREFIX + json.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  view.setUint32(12, crc32(out.subarray(PREFIX)), true);
  return out;
}

/** A number written by {@link encodeCheckpoint} (finite numbers as numbers, others as strings). */
function readNumber(name: string, v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  if (typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v)) return Number(v);
  return badState('a number', name, v);
}

/**
 * Parses bytes written by {@link encodeCheckpoint}, checking magic, checksum, header and every array
 * reference; the result is a structurally valid state.
 *
 * @throws LongTailError `INVALID_CHECKPOINT` naming what is wrong.
 */
export function decodeCheckpoint(bytes: Uint8Array): TrainerState {
  if (bytes.length < PREFIX || MAGIC.some((b, i) => bytes[i] !== b)) badState('a longtail checkpoint file (magic "LTCKPT\\0\\x02")', 'bytes', `${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (PREFIX + headerLength > bytes.length) badState(`a header of at most ${bytes.length - PREFIX} bytes (the file is truncated?)`, 'headerLength', headerLength);
  const crc = view.getUint32(12, true);
  if (crc32(bytes.subarray(PREFIX)) !== crc) badState('a checksum that matches the contents (the file is corrupt or truncated)', 'crc32', crc);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREFIX, PREFIX + headerLength))) as Record<string, unknown>;
  } catch (e) {
    return badState('a JSON header', 'header', (e as Error).message);
  }
  const data = bytes.subarray(PREFIX + headerLength);
  const array = <T extends Float32Array | Int32Array>(name: string, ref: unknown, make: (buffer: ArrayBuffer) => T): T => {
    const r = ref as ArrayRef | null;
    if (r === null || typeof r !== 'object' || !Number.isInteger(r.offset) || !Number.isInteger(r.length) || r.offset < 0 || r.length < 0) {
      badState('an array reference { offset, length }', name, ref);
    }
    if (r.offset % 4 !== 0 || r.offset + r.length * 4 > data.length) badState(`an array inside the ${data.length}-byte data section`, `${name}.offset`, r.offset);
    // A copy: Node's Buffer#slice shares memory with a pooled, unaligned buffer.
    const copy = new Uint8Array(r.length * 4);
    copy.set(data.subarray(r.offset, r.offset + r.length * 4));
    return make(copy.buffer);
  };
  const f32 = (name: string, ref: unknown): Float32Array => array(name, ref, (b) => new Float32Array(b));
  const i32 = (name: string, ref: unknown): Int32Array => array(name, ref, (b) => new Int32Array(b));
  type Ref = { name: string; shape: number[]; values: unknown };
  const list = (name: string, v: unknown): unknown[] => (Array.isArray(v) ? v : badState('an array', name, v));
  const h = header as {
    format: unknown;
    version: unknown;
    epoch: number;
    step: number;
    seed: number;
    history: unknown;
    variables: unknown;
    optimizer: { step: number; slots: unknown } | null;
    modelRng: RngState | null;
    pool: null | { epoch: number; space?: unknown; shape: number[]; features: unknown; labels: unknown };
    position: null | {
      epoch: number;
      batch: number;
      batches: unknown;
      augmentRng: RngState;
      sums: { loss: unknown; seen: number; terms: Record<string, unknown>; counts?: Record<string, unknown> } | null;
    };
    synthesis?: unknown;
    lossStates?: unknown;
  };
  if (h.optimizer === null || typeof h.optimizer !== 'object') badState('optimizer state { step, slots }', 'optimizer', h.optimizer);
  const pos = h.position ?? null;
  const state = {
    format: h.format,
    version: h.version,
    epoch: h.epoch,
    step: h.step,
    seed: h.seed,
    history: list('history', h.history).map((logs, i) => {
      if (logs === null || typeof logs !== 'object' || Array.isArray(logs)) badState('an object of numbers', `history[${i}]`, logs);
      return Object.fromEntries(Object.entries(logs as Record<string, unknown>).map(([k, v]) => [k, readNumber(`history[${i}].${k}`, v)])) as Logs;
    }),
    variables: list('variables', h.variables).map((v, i) => {
      const r = v as Ref;
      return { name: r?.name, shape: r?.shape, values: f32(`variables[${i}].values`, r?.values) };
    }),
    optimizer: {
      step: h.optimizer.step,
      slots: list('optimizer.slots', h.optimizer.slots).map((s, i) => {
        const r = s as Ref;
        return { name: r?.name, shape: r?.shape, values: f32(`optimizer.slots[${i}].values`, r?.values) };
      }),
    },
    modelRng: h.modelRng ?? null,
    pool:
      h.pool === null || h.pool === undefined
        ? null
        : {
            epoch: h.pool.epoch,
            ...(h.pool.space === undefined ? {} : { space: h.pool.space }),
            shape: h.pool.shape,
            features: f32('pool.features', h.pool.features),
            labels: i32('pool.labels', h.pool.labels),
          },
    position:
      pos === null
        ? null
        : {
            epoch: pos.epoch,
            batch: pos.batch,
            batches: list('position.batches', pos.batches).map((b, i) => i32(`position.batches[${i}]`, b)),
            augmentRng: pos.augmentRng,
            sums:
              pos.sums === null || typeof pos.sums !== 'object'
                ? badState('position.sums { loss, seen, terms }', 'position.sums', pos.sums)
                : {
                    loss: readNumber('position.sums.loss', pos.sums.loss),
                    seen: pos.sums.seen,
                    terms: Object.fromEntries(Object.entries(pos.sums.terms ?? {}).map(([k, v]) => [k, readNumber(`position.sums.terms.${k}`, v)])),
                    counts: Object.fromEntries(Object.entries(pos.sums.counts ?? {}).map(([k, v]) => [k, readNumber(`position.sums.counts.${k}`, v)])),
                  },
          },
    ...(h.synthesis === undefined ? {} : { synthesis: readRounds(h.synthesis) }),
    ...(h.lossStates === undefined ? {} : { lossStates: readLossStates(h.lossStates, f32, i32) }),
  } as unknown as TrainerState;
  checkStateStructure(state);
  return state;
}

/** Synthesis rounds of a header (report numbers may be written as strings: NaN rates). */
function readRounds(value: unknown): unknown {
  if (!Array.isArray(value)) return badState('synthesis rounds as an array', 'synthesis', value);
  return value.map((r: Record<string, unknown>, i) => {
    if (r === null || typeof r !== 'object') return badState('a synthesis round', `synthesis[${i}]`, r);
    const report = r['report'];
    if (report === undefined) return r;
    if (!Array.isArray(report)) return badState('a report array', `synthesis[${i}].report`, report);
    return {
      ...r,
      report: report.map((e: Record<string, unknown>, j) =>
        Object.fromEntries(Object.entries(e ?? {}).map(([k, v]) => [k, readNumber(`synthesis[${i}].report[${j}].${k}`, v)])),
      ),
    };
  });
}

/** Loss-state snapshots of a header, their arrays resolved. */
function readLossStates(value: unknown, f32: (name: string, ref: unknown) => Float32Array, i32: (name: string, ref: unknown) => Int32Array): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return badState('loss states as { [key]: snapshot | null }', 'lossStates', value);
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, snap]) => {
      if (snap === null) return [key, null];
      const sn = snap as { json?: unknown; arrays?: Record<string, { shape?: unknown; dtype?: unknown; values?: unknown }> };
      if (typeof sn !== 'object' || sn.arrays === null || typeof sn.arrays !== 'object') return badState('a loss state snapshot { json, arrays }', `lossStates.${key}`, snap);
      const arrays = Object.fromEntries(
        Object.entries(sn.arrays).map(([name, a]) => {
          const where = `lossStates.${key}.arrays.${name}`;
          const values = a?.dtype === 'int32' ? i32(where, a.values) : a?.dtype === 'float32' ? f32(where, a.values) : badState('dtype "float32" or "int32"', `${where}.dtype`, a?.dtype);
          return [name, { shape: a.shape, values }];
        }),
      );
      return [key, { json: sn.json ?? null, arrays }];
    }),
  );
}

let tempCounter = 0;

/**
 * Writes `bytes` to `dir/name` atomically (Node only): a unique temporary file opened with O_EXCL (so
 * never through a symlink), fsync, one rename over the final name, fsync of the directory. A crash
 * leaves the old file or the new one; a stale temporary file of a killed write is left alone.
 */
export async function writeFileAtomic(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const fs = await importNode('node:fs/promises');
  const { join } = await importNode('node:path');
  await fs.mkdir(dir, { recursive: true });
  let handle: Awaited<ReturnType<typeof fs.open>> | null = null;
  let tmp = '';
  while (handle === null) {
    tmp = join(dir, `.${name}.${process.pid}.${Date.now()}.${tempCounter++}.tmp`);
    try {
      handle = await fs.open(tmp, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, join(dir, name));
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  // Make the rename itself durable; some file systems refuse to fsync a directory, which is harmless.
  const handleDir = await fs.open(dir, 'r');
  try {
    await handleDir.sync();
  } catch {
    /* not supported here */
  } finally {
    await handleDir.close();
  }
}

/**
 * Writes `state` to the directory `path` (created if needed) as one file, `checkpoint.ltc`, atomically
 * (`writeFileAtomic`). Node only.
 */
export async function writeCheckpoint(path: string, state: TrainerState): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) badState('a checkpoint directory path', 'path', path);
  await writeFileAtomic(path, CHECKPOINT_FILE, encodeCheckpoint(state));
}

/**
 * Reads the checkpoint in directory `path` written by {@link writeCheckpoint}, validated whole (a
 * checkpoint of version 1, `state.json` + `tensors.bin`, is read too).
 *
 * @throws LongTailError `MISSING_INPUT` when there is no checkpoint, `INVALID_CHECKPOINT` when it is corrupt.
 */
export async function readCheckpoint(path: string): Promise<TrainerState> {
  if (typeof path !== 'string' || path.length === 0) badState('a checkpoint directory path', 'path', path);
  const fs = await importNode('node:fs/promises');
  const { join } = await importNode('node:path');
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(join(path, CHECKPOINT_FILE));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      const legacy = await readLegacy(path);
      if (legacy !== null) return legacy;
    }
    throw new LongTailError('MISSING_INPUT', `expected a checkpoint directory holding ${CHECKPOINT_FILE}. Received: path=${JSON.stringify(path)} (${(e as Error).message})`, {
      path,
    });
  }
  return decodeCheckpoint(bytes);
}

/** Version 1 (state.json + tensors.bin), or null when those files are absent. */
async function readLegacy(path: string): Promise<TrainerState | null> {
  const fs = await importNode('node:fs/promises');
  const { join } = await importNode('node:path');
  let text: string;
  let bin: Uint8Array;
  try {
    text = await fs.readFile(join(path, 'state.json'), 'utf8');
    bin = await fs.readFile(join(path, 'tensors.bin'));
  } catch {
    return null;
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return badState('a JSON state.json', 'state.json', (e as Error).message);
  }
  if (header['format'] !== 'longtail-trainer-state' || header['version'] !== 1) badState('a longtail-trainer-state checkpoint', 'format', header['format']);
  // Version 1 had the same header fields (its NaN logs became null) and no epoch position: frame it as
  // version 2 and let the version-2 decoder check everything.
  const history = header['history'];
  const v2 = {
    ...header,
    version: 2,
    position: null,
    synthesis: [],
    lossStates: {},
    history: Array.isArray(history) ? history.map((l) => Object.fromEntries(Object.entries(l as object).map(([k, v]) => [k, v === null ? 'NaN' : v]))) : history,
  };
  const json = new TextEncoder().encode(JSON.stringify(v2));
  const out = new Uint8Array(PREFIX + json.length + bin.length);
  out.set(MAGIC, 0);
  out.set(json, PREFIX);
  out.set(bin, PREFIX + json.length);
  const view = new DataView(out.buffer);
  view.setUint32(8, json.length, true);
  view.setUint32(12, crc32(out.subarray(PREFIX)), true);
  return decodeCheckpoint(out);
}
