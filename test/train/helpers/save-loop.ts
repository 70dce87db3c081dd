/**
 * Child process for the kill test: writes checkpoints to argv[2] in a loop, state k holding the value k
 * in every array, until it is killed. Prints "ready" once the first save has landed.
 */
import { writeCheckpoint, type TrainerState } from '../../../src/train/checkpoint.js';

const path = process.argv[2] as string;
const sizes = [4096, 96, 1024, 3, 50_000];

function stateFor(k: number): TrainerState {
  return {
    format: 'longtail-trainer-state',
    version: 2,
    epoch: 0,
    step: k,
    seed: 0,
    history: Array.from({ length: k % 7 }, (_, i) => ({ epoch: i, loss: k })),
    variables: sizes.map((n, i) => ({ name: `v${i}`, shape: [n], values: new Float32Array(n).fill(k) })),
    optimizer: { step: k, slots: sizes.map((n, i) => ({ name: `v${i}/m`, shape: [n], values: new Float32Array(n).fill(k) })) },
    modelRng: null,
    pool: null,
    position: null,
  };
}

let k = 0;
for (;;) {
  await writeCheckpoint(path, stateFor(k));
  if (k === 0) process.stdout.write('ready\n');
  k++;
}
