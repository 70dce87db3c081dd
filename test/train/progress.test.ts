/**
 * Progress output: the bar on a TTY, epoch lines otherwise, the forced modes, silence, stage labels, and a
 * real trainer writing through each (fake streams and a fake clock; nothing asserts real timings).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { useBackend } from '../../src/backends/index.js';
import { seededRng } from '../../src/core/rng.js';
import { crossEntropyLoss } from '../../src/losses/index.js';
import { classifier, identityBackbone, linearHead } from '../../src/models/index.js';
import { decoupled, granularity, ltls, sau, synLt, type RecipeRun } from '../../src/recipes/index.js';
import { formatDuration } from '../../src/train/callbacks.js';
import { trainer, progressLogger, type Callback, type ProgressOptions, type TextSink } from '../../src/train/index.js';
import { expectError } from '../helpers/errors.js';

/** A stream that records what is written. */
function sink(isTTY: boolean): TextSink & { text: string } {
  const s = {
    isTTY,
    text: '',
    write(t: string) {
      s.text += t;
      return true;
    },
  };
  return s;
}

/** A clock that advances `stepMs` every time it is read. */
function clock(stepMs: number): () => number {
  let t = 0;
  return () => (t += stepMs);
}

const noControl = { stop() {} };

/** Drives a callback through `epochs` epochs of `steps` steps (losses 1, 2, 3, ...), as the trainer does. */
async function drive(cb: Callback, o: { epochs: number; steps: number; announced?: number; val?: boolean; passSteps?: boolean }): Promise<void> {
  await cb.onTrainBegin?.({ epochs: o.epochs, startEpoch: 0, stepsPerEpoch: o.announced ?? o.steps });
  let step = 0;
  for (let e = 0; e < o.epochs; e++) {
    await cb.onEpochBegin?.(e, o.passSteps === true ? { steps: o.steps } : undefined);
    for (let s = 0; s < o.steps; s++) cb.onBatchEnd?.(step++, { loss: s + 1 });
    const logs = { epoch: e, loss: 0.5 + e, learningRate: 1e-3, ...(o.val === true ? { valAccuracy: 0.25, valBalancedAccuracy: 0.7012 } : {}) };
    await cb.onEpochEnd?.(e, logs, noControl);
  }
  await cb.onTrainEnd?.({ epochs: [], stopReason: 'completed' });
}

/** The lines of a bar's output as a terminal shows them: the text after the last \r of each line. */
function screen(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => (l.split('\r').pop() as string).trimEnd());
}

describe('progressLogger', () => {
  it("'auto' on a TTY redraws one bar per epoch: epoch, step of steps, ETA, running mean loss; ends with time, loss, val metrics", async () => {
    const stream = sink(true);
    await drive(progressLogger({ stream, now: clock(200), width: 4 }), { epochs: 2, steps: 4, val: true });
    const frames = stream.text.split('\n')[0]?.split('\r').filter((f) => f.length > 0) ?? [];
    // Steps 1..4 (each 200 ms apart, above the redraw interval), then the completed line.
    expect(frames.map((f) => f.trimEnd())).toEqual([
      'epoch 1/2 [█░░░] 1/4 ETA 0.6s - loss 1.0000',
      'epoch 1/2 [██░░] 2/4 ETA 0.4s - loss 1.5000',
      'epoch 1/2 [███░] 3/4 ETA 0.2s - loss 2.0000',
      'epoch 1/2 [████] 4/4 ETA 0.0s - loss 2.5000',
      'epoch 1/2 - 1.0s - loss 0.5000 - valAccuracy 0.2500 - valBalancedAccuracy 0.7012',
    ]);
    expect(screen(stream.text)).toEqual([
      'epoch 1/2 - 1.0s - loss 0.5000 - valAccuracy 0.2500 - valBalancedAccuracy 0.7012',
      'epoch 2/2 - 1.0s - loss 1.5000 - valAccuracy 0.2500 - valBalancedAccuracy 0.7012',
    ]);
    expect(stream.text.endsWith('\n')).toBe(true);
  });

  it("'auto' off a TTY writes one line per epoch (Keras verbose 2), no \\r", async () => {
    const stream = sink(false);
    await drive(progressLogger({ stream, now: clock(100) }), { epochs: 3, steps: 5, val: true });
    expect(stream.text).toBe(
      [
        'epoch 1/3 - 0.1s - loss 0.5000 - valAccuracy 0.2500 - valBalancedAccuracy 0.7012',
        'epoch 2/3 - 0.1s - loss 1.5000 - valAccuracy 0.2500 - valBalancedAccuracy 0.7012',
        'epoch 3/3 - 0.1s - loss 2.5000 - valAccuracy 0.2500 - valBalancedAccuracy 0.7012',
        '',
      ].join('\n'),
    );
  });

  it("'bar' and 'epoch' force their format whatever the stream; 'none' writes nothing", async () => {
    const bar = sink(false);
    await drive(progressLogger({ mode: 'bar', stream: bar, now: clock(200) }), { epochs: 1, steps: 2 });
    expect(bar.text).toMatch(/^\repoch 1\/1 \[█+░+\] 1\/2 ETA \S+ - loss 1\.0000/);
    const epoch = sink(true);
    await drive(progressLogger({ mode: 'epoch', stream: epoch, now: clock(200) }), { epochs: 1, steps: 2 });
    expect(epoch.text).toBe('epoch 1/1 - 0.2s - loss 0.5000\n');
    const none = sink(true);
    await drive(progressLogger({ mode: 'none', stream: none }), { epochs: 2, steps: 3, val: true });
    expect(none.text).toBe('');
    const none2 = sink(false);
    await drive(progressLogger({ mode: 'none', stream: none2 }), { epochs: 2, steps: 3 });
    expect(none2.text).toBe('');
  });

  it('a label prefixes every line (recipe stages)', async () => {
    const stream = sink(false);
    await drive(progressLogger({ stream, label: 'stage 2/2', now: clock(100) }), { epochs: 1, steps: 1 });
    expect(stream.text).toBe('stage 2/2 · epoch 1/1 - 0.1s - loss 0.5000\n');
  });

  it('stays consistent when an epoch has more steps than announced, and uses the step count the epoch announces', async () => {
    const grown = sink(true);
    await drive(progressLogger({ stream: grown, now: clock(200), width: 4 }), { epochs: 1, steps: 6, announced: 4 });
    const frames = grown.text.split('\r').map((f) => f.trimEnd());
    for (const f of frames.filter((x) => x.includes('/4 ') || x.includes('/5 ') || x.includes('/6 '))) {
      const [done, total] = (/ (\d+)\/(\d+) ETA/.exec(f) ?? []).slice(1).map(Number) as [number, number];
      expect(done).toBeLessThanOrEqual(total);
    }
    expect(frames).toContain('epoch 1/1 [████] 6/6 ETA 0.0s - loss 3.5000');
    const told = sink(true);
    await drive(progressLogger({ stream: told, now: clock(200), width: 4 }), { epochs: 1, steps: 6, announced: 4, passSteps: true });
    expect(told.text).toContain('epoch 1/1 [█░░░] 1/6 ETA 1.0s - loss 1.0000');
  });

  it('throttles redraws to one per 100 ms but always draws the last step', async () => {
    const stream = sink(true);
    await drive(progressLogger({ stream, now: clock(10) }), { epochs: 1, steps: 50 });
    const frames = stream.text.split('\r').filter((f) => f.includes('ETA'));
    expect(frames.length).toBeGreaterThan(2);
    expect(frames.length).toBeLessThan(12);
    expect(frames.at(-1)).toContain(' 50/50 ETA');
  });

  it('pads a redraw over a longer previous line, and ends an aborted bar line', async () => {
    const stream = sink(true);
    const cb = progressLogger({ stream, now: clock(200), width: 2 });
    await cb.onTrainBegin?.({ epochs: 10, startEpoch: 0, stepsPerEpoch: 100 });
    await cb.onEpochBegin?.(0);
    cb.onBatchEnd?.(0, { loss: 123456.5 });
    const longer = stream.text.length;
    cb.onBatchEnd?.(1, { loss: 1 });
    // The second frame is shorter and is padded back to the first one's length.
    expect(stream.text.length - longer).toBe(longer);
    await cb.onTrainEnd?.({ epochs: [], stopReason: 'aborted' });
    expect(stream.text.endsWith('\n')).toBe(true);
  });

  it('formats durations', () => {
    expect([0.04, 9.94, 12.4, 185, 7260].map(formatDuration)).toEqual(['0.0s', '9.9s', '12s', '3m05s', '2h01m']);
  });

  it('rejects an unknown mode, key, label or width', () => {
    expectError(() => progressLogger('bars' as 'bar'), 'INVALID_OPTION', 'expected progress to be one of "auto", "bar", "epoch", "none". Received: progress="bars"');
    expectError(() => progressLogger({ mdoe: 'bar' } as ProgressOptions), 'UNKNOWN_OPTION', 'expected progressLogger options to be among mode, label, stream, width, now. Received: mdoe (did you mean mode?)');
    expectError(() => progressLogger({ label: 3 as unknown as string }), 'INVALID_OPTION', 'expected label to be a string. Received: label=3');
    expectError(() => progressLogger({ width: 0 }), 'INVALID_OPTION', 'expected width >= 1. Received: width=0');
  });
});

describe('the trainer writes progress through its progress option', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  async function fitWith(progress: ProgressOptions): Promise<string> {
    const stream = sink(progress.stream?.isTTY === true);
    const rng = seededRng(3);
    const model = classifier({ backbone: identityBackbone({ inputDim: 4 }), head: linearHead({ inputDim: 4, numClasses: 3, rng }) });
    const x = tf.tensor2d(Array.from({ length: 40 * 4 }, (_, i) => Math.sin(i)), [40, 4]);
    const y = Int32Array.from({ length: 40 }, (_, i) => i % 3);
    const loop = trainer({ model, loss: crossEntropyLoss(), seed: 1, epochs: 2, batchSize: 16, progress: { ...progress, stream, now: clock(150) } });
    try {
      await loop.fit({ x, y }, { validation: { x, y } });
    } finally {
      loop.dispose();
      model.dispose();
      x.dispose();
    }
    return stream.text;
  }

  it('on a TTY: one bar per epoch with 3 steps (40 samples, batch 16), ETA and validation metrics', async () => {
    const text = await fitWith({ stream: sink(true) });
    expect(text).toMatch(/\repoch 1\/2 \[█+░*\] 1\/3 ETA \S+ - loss \d\.\d{4}/);
    const lines = screen(text);
    expect(lines).toHaveLength(2);
    for (const [i, line] of lines.entries()) {
      expect(line).toMatch(new RegExp(`^epoch ${i + 1}/2 - \\S+s - loss \\d\\.\\d{4} - valAccuracy \\d\\.\\d{4} - valBalancedAccuracy \\d\\.\\d{4}( - val(Many|Medium|Few) \\d\\.\\d{4})*$`));
    }
  });

  it("off a TTY: one line per epoch; 'none': nothing", async () => {
    const text = await fitWith({ stream: sink(false), label: 'stage 1/2' });
    expect(text.split('\n')).toHaveLength(3);
    expect(text).toMatch(/^stage 1\/2 · epoch 1\/2 - \S+s - loss \d\.\d{4} - valAccuracy \d\.\d{4} - valBalancedAccuracy \d\.\d{4}( - val(Many|Medium|Few) \d\.\d{4})*\n/);
    expect(text).not.toContain('\r');
    expect(await fitWith({ stream: sink(true), mode: 'none' })).toBe('');
  });
});

describe('every recipe takes progress and passes it to its trainer(s)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  /** stderr lines written while fitting `make()`'s run on 24 samples of 4 features, 3 classes. */
  async function linesOf(make: (aux: { x: tf.Tensor2D; y: Int32Array }) => RecipeRun): Promise<string[]> {
    const x = tf.tensor2d(Array.from({ length: 24 * 4 }, (_, i) => Math.sin(i * 0.7)), [24, 4]);
    const y = Int32Array.from({ length: 24 }, (_, i) => (i < 14 ? 0 : i < 20 ? 1 : 2));
    const aux = { x: tf.tensor2d(Array.from({ length: 8 * 4 }, (_, i) => Math.cos(i)), [8, 4]), y: Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]) };
    let text = '';
    const run = make(aux);
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      text += String(chunk);
      return true;
    });
    try {
      await run.fit({ x, y });
    } finally {
      spy.mockRestore();
      run.dispose();
      x.dispose();
      aux.x.dispose();
    }
    return text.split('\n').filter((l) => /epoch \d+\/\d+/.test(l));
  }

  const small = { seed: 0, numClasses: 3, epochs: 2, batchSize: 8, progress: 'epoch' } as const;

  it('single-stage recipes write one line per epoch', async () => {
    const runs: [string, (aux: { x: tf.Tensor2D; y: Int32Array }) => RecipeRun][] = [
      ['ltls', () => ltls({ ...small, featureDim: 4 })],
      ['synLt', () => synLt({ ...small, inputDim: 4, hiddenSizes: [4] })],
      ['sau', () => sau({ ...small, inputShape: [4], imageShape: [2, 2, 1], hiddenSizes: [4], projectionHiddenSizes: [4], projectionDim: 4, augmentation: 'none' })],
      ['granularity', (aux) => granularity({ ...small, auxiliary: aux, neighbors: [[], [], []], hiddenSizes: [4] })],
    ];
    for (const [name, make] of runs) {
      const lines = await linesOf(make);
      expect(lines, name).toHaveLength(2);
      expect(lines[1], name).toMatch(/^epoch 2\/2 - \S+s - loss \d+\.\d{4}$/);
    }
  });

  it("decoupled labels its stages; 'none' is silent", async () => {
    const lines = await linesOf(() => decoupled({ ...small, inputDim: 4, hiddenSizes: [4], stage2: { epochs: 1 } }));
    expect(lines.map((l) => l.replace(/ - .*/, ''))).toEqual(['stage 1/2 · epoch 1/2', 'stage 1/2 · epoch 2/2', 'stage 2/2 · epoch 1/1']);
    expect(await linesOf(() => decoupled({ ...small, progress: 'none', inputDim: 4, hiddenSizes: [4], stage2: { epochs: 1 } }))).toEqual([]);
  });
});
