/**
 * Checkpoints are whole or absent: atomic writes (kill at random instants, concurrent saves, symlinks),
 * and loads that validate everything before assigning anything (corrupt, truncated, foreign, mistyped).
 */
import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { rejection, thrown } from '../helpers/errors.js';
import { seededRng } from '../../src/core/rng.js';
import type { LabeledData } from '../../src/data/types.js';
import { crossEntropyLoss } from '../../src/losses/index.js';
import { classifier, linearHead, mlpBackbone } from '../../src/models/index.js';
import {
  CHECKPOINT_FILE,
  trainer,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  writeCheckpoint,
  type Trainer,
  type TrainerConfig,
  type TrainerState,
} from '../../src/train/index.js';

function model(seed: number, hidden = 6) {
  const rng = seededRng(seed);
  return classifier({
    backbone: mlpBackbone({ inputDim: 4, hiddenSizes: [hidden], rng: rng.fork('b'), dropout: 0.1 }),
    head: linearHead({ inputDim: hidden, numClasses: 3, rng: rng.fork('h') }),
  });
}

function config(seed = 0, hidden = 6): TrainerConfig {
  return { model: model(seed, hidden), loss: crossEntropyLoss(), seed: 5, epochs: 2, batchSize: 8, progress: 'none' };
}

function snapshot(t: Trainer): number[][] {
  return t.model.variables.map((v) => Array.from(v.dataSync()));
}



describe('checkpoints', () => {
  let dir: string;
  let data: LabeledData;
  let cfg: TrainerConfig;
  let trained: Trainer;

  beforeAll(async () => {
    await useBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'longtail-ckpt-'));
    const rng = seededRng(1);
    const n = 40;
    data = { x: tf.tensor2d(Array.from({ length: n * 4 }, () => rng.normal()), [n, 4]), y: Int32Array.from({ length: n }, (_, i) => i % 3) };
    cfg = config();
    trained = trainer(cfg);
    await trained.fit(data);
  });

  afterAll(() => {
    trained.dispose();
    cfg.model.dispose();
    data.x.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips a state through bytes and through a directory holding one file', async () => {
    const state = trained.state();
    expect(decodeCheckpoint(encodeCheckpoint(state))).toEqual(state);
    const path = join(dir, 'roundtrip');
    await trained.save(path);
    expect(readdirSync(path).sort()).toEqual([CHECKPOINT_FILE, 'manifest.json']); // the last fit's manifest beside it
    expect(await readCheckpoint(path)).toEqual(state);
  });

  it('a corrupt, truncated or foreign file is INVALID_CHECKPOINT and the trainer is left untouched', async () => {
    const bytes = encodeCheckpoint(trained.state());
    const target = trainer(config(9));
    const before = snapshot(target);
    const numTensors = tf.memory().numTensors;
    const cases: [string, Uint8Array, RegExp][] = [
      ['flipped data byte', Uint8Array.from(bytes, (b, i) => (i === bytes.length - 3 ? b ^ 0xff : b)), /checksum that matches the contents/],
      ['truncated', bytes.subarray(0, bytes.length - 10), /checksum|truncated/],
      ['cut inside the header', bytes.subarray(0, 30), /truncated/],
      ['not a checkpoint', new TextEncoder().encode('{"format":"longtail-trainer-state"}'), /a longtail checkpoint file/],
    ];
    for (const [name, b, message] of cases) {
      const path = join(dir, `bad-${name.replace(/\W+/g, '-')}`);
      mkdirSync(path, { recursive: true });
      writeFileSync(join(path, CHECKPOINT_FILE), b);
      const e = await rejection(target.load(path));
      expect(e.code, name).toBe('INVALID_CHECKPOINT');
      expect(e.message, name).toMatch(message);
      expect(snapshot(target), name).toEqual(before);
    }
    expect(tf.memory().numTensors).toBe(numTensors);
    const missing = await rejection(target.load(join(dir, 'nothing-here')));
    expect(missing.code).toBe('MISSING_INPUT');
    target.dispose();
    target.model.dispose();
  });

  it('a [4, 6] kernel does not load into a [6, 4] model; nothing is assigned when any part is wrong', () => {
    const state = trained.state();
    const other = trainer(config(3, 4)); // hidden 4: kernel [4, 4], head [4, 3]
    const before = snapshot(other);
    expect(thrown(() => other.restore(state)).message).toMatch(/^expected variable 0 of shape \[4, 4\]. Received: variables\[0\]\.shape/);
    expect(snapshot(other)).toEqual(before);
    other.dispose();
    other.model.dispose();

    const same = trainer(config(4));
    const sameBefore = snapshot(same);
    const broken: [string, TrainerState, RegExp][] = [
      ['epoch "abc"', { ...state, epoch: 'abc' as unknown as number }, /expected epoch to be an integer >= 0. Received: epoch="abc"/],
      ['epoch past the run', { ...state, epoch: 9 }, /expected epoch <= epochs \(2\)/],
      ['other seed', { ...state, seed: 6 }, /a checkpoint of a run with seed 5/],
      ['optimizer slot missing', { ...state, optimizer: { ...state.optimizer, slots: state.optimizer.slots.slice(1) } }, /optimizer slots/],
      ['bad rng', { ...state, modelRng: { key: 'x', alea: { c: 1 } } as unknown as TrainerState['modelRng'] }, /random stream state/],
      ['history of strings', { ...state, history: [{ loss: 'x' as unknown as number }] }, /history\[0\]\.loss/],
      ['values too short', { ...state, variables: state.variables.map((v, i) => (i === 2 ? { ...v, values: v.values.subarray(1) } : v)) }, /variables\[2\]\.values\.length/],
      ['format', { ...state, format: 'other' as 'longtail-trainer-state' }, /format "longtail-trainer-state"/],
    ];
    for (const [name, bad, message] of broken) {
      const e = thrown(() => same.restore(bad));
      expect(e.code, name).toBe('INVALID_CHECKPOINT');
      expect(e.message, name).toMatch(message);
      expect(snapshot(same), name).toEqual(sameBefore);
      expect(same.epoch, name).toBe(0);
    }
    same.dispose();
    same.model.dispose();
  });

  it('never follows a symlink: a checkpoint.ltc link pointing outside is replaced, its target untouched', async () => {
    const path = join(dir, 'symlinked');
    mkdirSync(path, { recursive: true });
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'do not touch');
    symlinkSync(outside, join(path, CHECKPOINT_FILE));
    await trained.save(path);
    expect(readFileSync(outside, 'utf8')).toBe('do not touch');
    expect(lstatSync(join(path, CHECKPOINT_FILE)).isSymbolicLink()).toBe(false);
    expect(await readCheckpoint(path)).toEqual(trained.state());
  });

  it('concurrent saves to one path each land whole (never a mix of two trainers)', async () => {
    const other = trainer(config(8));
    const path = join(dir, 'concurrent');
    const a = trained.state();
    const b = other.state();
    for (let round = 0; round < 20; round++) {
      await Promise.all([writeCheckpoint(path, a), writeCheckpoint(path, b), writeCheckpoint(path, a)]);
      const read = await readCheckpoint(path);
      expect([a, b]).toContainEqual(read);
    }
    expect(readdirSync(path)).toEqual([CHECKPOINT_FILE]);
    other.dispose();
    other.model.dispose();
  });

  it('a stale temporary file of a killed save is ignored; a failed rename leaves the previous checkpoint', async () => {
    const path = join(dir, 'stale');
    await trained.save(path);
    writeFileSync(join(path, `.${CHECKPOINT_FILE}.1.2.3.tmp`), 'half a checkpoint');
    expect(await readCheckpoint(path)).toEqual(trained.state());
    // Fault between writing and renaming: the final name is a directory, so the rename fails.
    const blocked = join(dir, 'blocked');
    mkdirSync(join(blocked, CHECKPOINT_FILE, 'x'), { recursive: true });
    await expect(trained.save(blocked)).rejects.toThrow();
    expect(readdirSync(blocked)).toEqual([CHECKPOINT_FILE]); // its temporary file was removed
  });

  it('reads a version-1 checkpoint (state.json + tensors.bin)', async () => {
    const state = trained.state();
    const path = join(dir, 'v1');
    mkdirSync(path, { recursive: true });
    const chunks: Buffer[] = [];
    let offset = 0;
    const put = (values: Float32Array | Int32Array) => {
      chunks.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
      const ref = { offset, length: values.length };
      offset += values.byteLength;
      return ref;
    };
    const header = {
      format: 'longtail-trainer-state',
      version: 1,
      epoch: state.epoch,
      step: state.step,
      seed: state.seed,
      history: state.history,
      variables: state.variables.map((v) => ({ name: v.name, shape: v.shape, values: put(v.values) })),
      optimizer: { step: state.optimizer.step, slots: state.optimizer.slots.map((s) => ({ name: s.name, shape: s.shape, values: put(s.values) })) },
      modelRng: state.modelRng,
      pool: null,
    };
    writeFileSync(join(path, 'tensors.bin'), Buffer.concat(chunks));
    writeFileSync(join(path, 'state.json'), JSON.stringify(header));
    const read = await readCheckpoint(path);
    expect(read).toEqual({ ...state, position: null });
  });

  it('a process killed at random instants while saving leaves the previous or the new checkpoint, never a mix', async () => {
    const path = join(dir, 'killed');
    const script = resolve(__dirname, 'helpers/save-loop.ts');
    const rng = seededRng(42);
    let kills = 0;
    for (let round = 0; round < 5; round++) {
      // One process (no tsx wrapper process), so SIGKILL stops the writer itself.
      const child = spawn(process.execPath, ['--import', 'tsx', script, path], { stdio: ['ignore', 'pipe', 'inherit'], cwd: resolve(__dirname, '../..') });
      await new Promise<void>((res, rej) => {
        child.stdout.once('data', () => res());
        child.once('error', rej);
      });
      await new Promise((r) => setTimeout(r, 20 + rng.int(400)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      kills++;
      if (!existsSync(join(path, CHECKPOINT_FILE))) continue;
      const state = await readCheckpoint(path);
      // The writer stores state k with every value equal to k: a mixed or torn file cannot pass.
      const k = state.step;
      for (const v of state.variables) expect(Array.from(v.values).every((x) => x === k)).toBe(true);
      for (const s of state.optimizer.slots) expect(Array.from(s.values).every((x) => x === k)).toBe(true);
      expect(state.history).toHaveLength(k % 7);
    }
    expect(kills).toBe(5);
    expect(existsSync(join(path, CHECKPOINT_FILE))).toBe(true);
  }, 120_000);
});
